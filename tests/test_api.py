"""The top-level API: `from kser import ...` and `kser --version`."""

from __future__ import annotations

import subprocess
import sys

import kser
from tests.helpers import REPO_ROOT


def test_the_top_level_names_are_the_pipeline_s_own():
    from kser.data import load_corpus
    from kser.inference.bundle import load_bundle
    from kser.training import ExperimentConfig, run_experiment

    assert kser.load_corpus is load_corpus
    assert kser.ExperimentConfig is ExperimentConfig
    assert kser.run_experiment is run_experiment
    assert kser.load_bundle is load_bundle
    assert {"load_corpus", "ExperimentConfig", "run_experiment", "load_bundle"} <= set(kser.__all__)


def test_the_version_is_pyproject_s_and_kser_version_prints_it():
    declared = next(
        line.split('"')[1]
        for line in (REPO_ROOT / "pyproject.toml").read_text().splitlines()
        if line.startswith("version = ")
    )
    assert kser.__version__ == declared
    finished = subprocess.run(
        [sys.executable, "-m", "kser.cli", "--version"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0
    assert finished.stdout.strip() == f"kser {declared}"


def test_importing_kser_loads_neither_tensorflow_nor_keras():
    code = "import sys, kser; print(sorted({'tensorflow', 'keras'} & set(sys.modules)))"
    printed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    ).stdout
    assert printed.strip() == "[]"
