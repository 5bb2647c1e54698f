"""kser.runtime without TensorFlow and Keras, without onnxruntime, and through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from kser.cli import main
from tests.helpers import REPO_ROOT, tone, write_audio


def _runtime(block, directory, files, options=()):
    return subprocess.run(
        [sys.executable, "-m", "tests.export.runtime_checks", "--block", block, *options]
        + [str(directory)]
        + [str(path) for path in files],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def audio(tmp_path):
    """Three files at 24 kHz (resampled on load), one longer than a clip (windowed)."""
    return [
        write_audio(tmp_path / f"clip{k}.wav", tone(180.0 * (k + 1), 0.7 + 0.5 * k), 24000)
        for k in range(3)
    ]


def test_the_runtime_predicts_without_tensorflow_or_keras(exported_mel, audio):
    bundle, directory = exported_mel
    result = _runtime("tensorflow,keras", directory, audio)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["loaded"] == []
    expected = [p.probabilities for p in bundle.predict_files(audio)]
    assert np.max(np.abs(np.array(output["probabilities"]) - expected)) <= 1e-4


def test_a_feature_outside_onnx_names_what_is_missing_without_tensorflow(
    exported_mel, audio, tmp_path
):
    from kser.export import export_bundle

    directory = export_bundle(exported_mel[0], tmp_path / "tf-features", front_ends=False)
    result = _runtime("tensorflow,keras", directory, audio)
    assert result.returncode == 2
    assert str(directory) in result.stdout and "needs TensorFlow" in result.stdout


def test_a_runtime_without_onnxruntime_says_how_to_install_it(exported_mel, audio):
    result = _runtime("onnxruntime", exported_mel[1], audio)
    assert result.returncode == 2
    assert str(exported_mel[1]) in result.stdout
    assert "pip install 'kser[runtime]'" in result.stdout


def test_the_cli_exports_and_predicts_and_evaluates_with_the_exported_directory(
    exported_mel, tiny_corpus, audio, tmp_path, capsys
):
    from kser.training import save_bundle

    bundle = exported_mel[0]
    saved = save_bundle(bundle, tmp_path / "bundle")
    out = tmp_path / "exported"
    assert main(["export", str(saved), "--out", str(out), "--quantize", "dynamic"]) == 0
    assert "computed in onnx" in capsys.readouterr().out
    assert main(["predict", str(out), *map(str, audio), "--json", str(tmp_path / "p.json")]) == 0
    printed = capsys.readouterr().out
    predictions = json.loads((tmp_path / "p.json").read_text())
    assert [p["path"] for p in predictions] == [str(path) for path in audio]
    assert all(p["emotion"] in printed for p in predictions)
    data = str(tiny_corpus.source).split()[-1]
    assert main(["evaluate", str(out), "--data", data, "--no-speaker-adaptation"]) == 0
    assert f"bundle {out}" in capsys.readouterr().out


def test_the_cli_reports_a_corrupted_export_in_one_line(exported_mel, tmp_path, capsys):
    import shutil

    directory = shutil.copytree(exported_mel[1], tmp_path / "copy")
    (directory / "model.onnx").write_bytes(b"not a graph")
    assert main(["predict", str(directory), str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "model.onnx" in error and "corrupted" in error


def test_the_cli_exports_a_saved_ensemble_bundle(audio, tmp_path, capsys):
    from kser.training import save_bundle
    from tests.export.helpers import make_ensemble_bundle

    bundle = make_ensemble_bundle()
    saved = save_bundle(bundle, tmp_path / "ensemble")
    out = tmp_path / "exported"
    assert main(["export", str(saved), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "input 'mel': feature 'mel' computed in onnx" in printed
    assert "input 'rms': feature 'rms' computed in onnx" in printed
    assert main(["predict", str(out), *map(str, audio), "--json", str(tmp_path / "p.json")]) == 0
    predicted = [p["probabilities"] for p in json.loads((tmp_path / "p.json").read_text())]
    expected = [p.probabilities for p in bundle.predict_files(audio)]
    actual = np.array([[p[label] for label in bundle.labels] for p in predicted])
    assert np.max(np.abs(actual - np.array(expected))) <= 1e-4
