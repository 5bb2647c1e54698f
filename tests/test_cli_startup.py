"""`kser` starts quietly: no TensorFlow log lines, no TensorFlow where none is needed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT, make_nemo_directory

# Runs the command line, then reports on stderr's last line whether TensorFlow was imported.
_REPORTING_MAIN = """
import sys
from kser.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print("tensorflow imported:", "tensorflow" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


def _kser(*arguments, cwd):
    """`(exit code, stdout, stderr lines without the report, whether TensorFlow was imported)`."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    finished = subprocess.run(
        [sys.executable, "-c", _REPORTING_MAIN, *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    *errors, report = finished.stderr.splitlines()
    return finished.returncode, finished.stdout, errors, report.endswith("True")


def _features_package_imports_tensorflow(cwd) -> bool:
    code = "import sys, kser.features; print('tensorflow' in sys.modules)"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    finished = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=environment, capture_output=True, text=True
    )
    return finished.stdout.strip() == "True"


def test_help_and_info_on_local_data_start_without_tensorflow(tmp_path):
    code, printed, errors, tensorflow = _kser("--help", cwd=tmp_path)
    assert code == 0 and "train" in printed and errors == [] and not tensorflow
    corpus = make_nemo_directory(tmp_path / "nemo")
    code, printed, errors, tensorflow = _kser("info", "--data", str(corpus), cwd=tmp_path)
    assert code == 0 and "84" in printed and errors == [] and not tensorflow


def test_cache_ls_prints_no_tensorflow_log_lines_and_needs_no_tensorflow(tmp_path):
    code, printed, errors, tensorflow = _kser("cache", "ls", cwd=tmp_path)
    assert code == 0 and "0 cached feature set(s)" in printed
    assert errors == []  # TensorFlow's start-up lines, when it is imported, are silenced
    if tensorflow and _features_package_imports_tensorflow(tmp_path):
        pytest.skip("kser.features imports TensorFlow when the package is imported")
    assert not tensorflow


def test_tensorflow_log_lines_show_only_with_verbose(tmp_path):
    # --epochs 0 is refused after TensorFlow is imported (the options are checked with it).
    arguments = ("train", "--epochs", "0", "--no-mlflow", "--out", str(tmp_path / "run"))
    code, _, errors, tensorflow = _kser(*arguments, cwd=tmp_path)
    assert code == 2 and tensorflow
    assert errors == ["kser train: error: epochs must be a whole number of at least 1. Received: "
                      "epochs=0"]  # fmt: skip
    code, _, verbose_errors, _ = _kser(*arguments, "--verbose", cwd=tmp_path)
    assert code == 2 and verbose_errors[-1] == errors[0]
    if len(verbose_errors) == 1:
        pytest.skip("TensorFlow logs nothing on start-up on this machine")
    assert any("I0000" in line or "tensorflow" in line.lower() for line in verbose_errors[:-1])
