"""`run_experiment` on every protocol: complete splits are kept, only missing ones train.

`kser train --protocol loso` resumes an interrupted run fold by fold, as `kser cv` does.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from kser import cli
from kser.data import load_corpus
from kser.training import run as run_module
from kser.training import run_experiment
from tests.helpers import make_nemo_directory
from tests.training.helpers import TINY_CONFIG

FOLDS = ["loso-F1", "loso-M2"]
LOSO = dataclasses.replace(TINY_CONFIG, protocol="loso", epochs=1, folds=FOLDS)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    return make_nemo_directory(tmp_path_factory.mktemp("resume") / "nemo")


def test_run_split_takes_keyword_arguments_only():
    with pytest.raises(TypeError, match="positional"):
        run_module.run_split(None, None, None, None, None, None)


def test_a_rerun_trains_only_the_missing_fold_and_summarises_all(
    corpus_dir, tmp_path, trained_splits
):
    corpus = load_corpus(corpus_dir, verbose=False)
    first = run_experiment(corpus, LOSO, tmp_path, verbose=0)
    assert first.trained == FOLDS and first.reused == [] and trained_splits == FOLDS
    summary = json.loads((tmp_path / "summary.json").read_text())

    kept = (tmp_path / FOLDS[0] / "metrics.json").stat().st_mtime_ns
    shutil.rmtree(tmp_path / FOLDS[1])
    again = run_experiment(corpus, LOSO, tmp_path, verbose=0)
    assert trained_splits == [*FOLDS, FOLDS[1]]
    assert again.trained == [FOLDS[1]] and again.reused == [FOLDS[0]]
    assert again.splits[0].evaluation is None and again.splits[0].training is None
    assert (tmp_path / FOLDS[0] / "metrics.json").stat().st_mtime_ns == kept
    assert again.summary == summary  # seeded: the retrained fold scores the same
    assert again.summary["uar"]["values"] == [split.metrics["uar"] for split in again.splits]


def test_kser_train_with_loso_resumes_an_interrupted_run_fold_by_fold(
    corpus_dir, tmp_path, trained_splits, capsys
):
    out = tmp_path / "run"
    arguments = ["train", "--data", str(corpus_dir), "--out", str(out), "--no-mlflow",
                 "--protocol", "loso", "--feature", "mel", "--feature-param", "n_mels=16",
                 "--model", "cnn3", "--model-param", "width=0.125", "--batch-size", "8",
                 "--epochs", "1", "--fold", FOLDS[0], "--fold", FOLDS[1]]  # fmt: skip
    assert cli.main(arguments) == 0
    # An interruption during the second fold: its directory half written, no summary yet.
    shutil.rmtree(out / FOLDS[1] / "bundle")
    (out / "summary.json").unlink()
    capsys.readouterr()
    assert cli.main(arguments) == 0
    assert trained_splits == [*FOLDS, FOLDS[1]]
    printed = capsys.readouterr().out
    assert f"kser: {FOLDS[0]}: complete in {out / FOLDS[0]}, not retrained" in printed
    assert f"{FOLDS[0]}: test UAR" in printed and "(complete before, not retrained)" in printed
    assert json.loads((out / "summary.json").read_text())["n_folds"] == 2
