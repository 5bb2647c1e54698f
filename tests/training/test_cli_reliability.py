"""`kser train` on bad options, interrupted and repeated runs, damaged bundles: clear outcomes."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import pytest

import kser.training.resume as resume_module
from kser.cli import INTERRUPTED, main
from kser.inference.bundle import BUNDLE_FILE, MODEL_FILE
from tests.helpers import make_nemo_directory, tone, write_audio
from tests.training.helpers import TINY_CNN

EPOCHS = 3
STOP_AT = 2


def _train_arguments(data, out, *extra):
    return ["train", "--data", str(data), "--out", str(out), "--no-mlflow",
            "--feature", "mel", "--feature-param", "n_mels=16", "--model", "cnn3",
            "--model-param", f"width={TINY_CNN['width']}", "--batch-size", "8",
            "--epochs", str(EPOCHS), *extra]  # fmt: skip


def _files(directory) -> dict:
    """Every file under `directory` with its bytes: to show a refused command changed nothing."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    return make_nemo_directory(tmp_path_factory.mktemp("reliability") / "nemo")


@pytest.fixture(scope="module")
def finished(corpus_dir, tmp_path_factory):
    """An uninterrupted `kser train` run: `(run directory, what it printed)`."""
    out = tmp_path_factory.mktemp("finished") / "run"
    printed = io.StringIO()  # capsys is per test; a module fixture captures by hand
    with contextlib.redirect_stdout(printed):
        assert main(_train_arguments(corpus_dir, out)) == 0
    return out, printed.getvalue()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--epochs", "0", "epochs must be a whole number of at least 1. Received: epochs=0"),
        ("--epochs", "-1", "Received: epochs=-1"),
        ("--batch-size", "0", "Received: batch_size=0"),
        ("--patience", "0", "Received: patience=0"),
        ("--learning-rate", "0", "learning_rate must be positive"),
        ("--model", "nonsense", "model must be one of audio_resnet"),
        ("--feature", "nonsense", "unknown feature"),
        ("--protocol", "nonsense", "protocol must be one of seed, speaker, loso, kfold"),
        ("--normalization", "nonsense", "normalization must be one of none, clip"),
        ("--schedule", "nonsense", "schedule must be one of cosine, plateau"),
        ("--augment", "nonsense", "has names that do not apply: ['nonsense']"),
        ("--feature-param", "n_mels=many", "n_mels must be a positive integer"),
    ],
)
def test_a_bad_option_is_refused_before_the_corpus_loads_and_nothing_is_written(
    option, value, message, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    missing_corpus = tmp_path / "no-such-corpus"  # loading it would be another error
    arguments = _train_arguments(missing_corpus, tmp_path / "run")
    arguments.remove("--no-mlflow")  # the default MLflow store (./mlruns.db) stays unmade too
    assert main([*arguments, option, value]) == 2
    error = capsys.readouterr().err
    assert error.startswith("kser train: error: ") and message in error
    assert len(error.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_redirected_output_gets_one_plain_line_per_epoch(finished):
    _, printed = finished
    assert "\x1b[" not in printed and "\r" not in printed and "\b" not in printed
    assert [line for line in printed.splitlines() if line.startswith("Epoch ")] == [
        f"Epoch {epoch}/{EPOCHS}" for epoch in range(1, EPOCHS + 1)
    ]


def test_a_finished_run_is_not_retrained_unless_overwrite_is_given(
    finished, corpus_dir, tmp_path, capsys
):
    run = tmp_path / "run"
    shutil.copytree(finished[0], run)
    before = _files(run)
    assert main(_train_arguments(corpus_dir, run)) == 2
    assert f"{run}: holds a finished run; pass --overwrite" in capsys.readouterr().err
    assert _files(run) == before

    (run / "stale.txt").write_text("from the old run")
    assert main(_train_arguments(corpus_dir, run, "--epochs", "1", "--overwrite")) == 0
    assert not (run / "stale.txt").exists()
    assert json.loads((run / "config.json").read_text())["epochs"] == 1
    assert json.loads((run / "bundle" / BUNDLE_FILE).read_text())["training"]["epochs_run"] == 1


def test_an_interrupted_run_says_what_it_saved_refuses_other_settings_and_resumes_exactly(
    finished, corpus_dir, tmp_path, monkeypatch, capsys
):
    run = tmp_path / "run"

    def interrupt(self, epoch, logs=None):
        if epoch == STOP_AT:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(resume_module.TrainingStateCheckpoint, "on_epoch_begin", interrupt, False)
        assert main(_train_arguments(corpus_dir, run)) == INTERRUPTED
    error = capsys.readouterr().err  # the feature-extraction progress bar, then one line
    assert "Traceback" not in error
    assert error.splitlines()[-1] == (
        f"kser train: interrupted; saved in {run}: checkpoints after {STOP_AT} epoch(s) "
        f"of the run. Resume: the same command, --out {run}"
    )

    # Other settings into the interrupted run: refused, and the run stays resumable.
    before = _files(run)
    assert main(_train_arguments(corpus_dir, run, "--model", "conv1d")) == 2
    error = capsys.readouterr().err
    assert "holds a run with other settings (model: 'cnn3' -> 'conv1d')" in error
    assert "Traceback" not in error and len(error.splitlines()) == 1
    assert _files(run) == before

    assert main(_train_arguments(corpus_dir, run)) == 0
    printed = capsys.readouterr().out
    assert f"kser: resuming {run / 'checkpoints'} after epoch {STOP_AT} of {EPOCHS}" in printed
    reference = finished[0]
    for name in ("checkpoints/state.json", "predictions.csv"):
        assert (run / name).read_text() == (reference / name).read_text(), name
    assert (
        json.loads((run / "metrics.json").read_text())["uar"]
        == json.loads((reference / "metrics.json").read_text())["uar"]
    )


@pytest.fixture
def clip(tmp_path):
    return write_audio(tmp_path / "clip.wav", tone(300, 1.0), 16000)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("clip_seconds", -1, "clip_seconds must be a positive number. Received: -1"),
        ("sample_rate", "fast", "sample_rate must be a positive whole number of Hz"),
        ("sample_rate", 8000, "sample_rate is 8000 but feature 'mel' is computed at 16000 Hz"),
        ("labels", ["anger"], "labels must be a list of two or more distinct names"),
        ("window_hop_seconds", 0, "window_hop_seconds must be a positive number"),
    ],
)
def test_bundle_metadata_is_checked_on_load_and_the_field_named(
    saved_bundle, clip, field, value, message, capsys
):
    directory = saved_bundle[1]
    description = json.loads((directory / BUNDLE_FILE).read_text())
    (directory / BUNDLE_FILE).write_text(json.dumps({**description, field: value}))
    assert main(["predict", str(directory), str(clip)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"kser predict: error: {directory / BUNDLE_FILE}: {message}")
    assert len(error.splitlines()) == 1


def test_a_damaged_model_file_is_called_damaged_not_missing(saved_bundle, clip, capsys):
    directory = saved_bundle[1]
    (directory / MODEL_FILE).write_bytes(b"\x00" * 128)
    assert main(["predict", str(directory), str(clip)]) == 2
    error = capsys.readouterr().err
    assert f"{directory / MODEL_FILE}: damaged model file" in error
    assert "not found" not in error
