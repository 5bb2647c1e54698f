"""`run_cross_validation` and `kser cv`: a model per fold, summarised, resumable fold by fold."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil

import numpy as np
import pytest

from kser import cli
from kser.errors import KserError
from kser.training import ExperimentConfig, run_cross_validation
from kser.training.run_directory import check_same_configuration, split_is_complete

FOLDS = ["loso-F1", "loso-M2"]
# What `kser cv` builds from CLI_ARGUMENTS below (the CLI has no clip-length option: 3 s clips).
CONFIG = ExperimentConfig(
    protocol="loso",
    epochs=1,
    batch_size=8,
    feature="mel",
    feature_params={"n_mels": 16},
    model_params={"width": 0.125},
    folds=FOLDS,
)
CLI_ARGUMENTS = [
    "--protocol", "loso", "--epochs", "1", "--batch-size", "8", "--feature", "mel",
    "--feature-param", "n_mels=16", "--model-param", "width=0.125",
    "--fold", FOLDS[0], "--fold", FOLDS[1], "--no-mlflow",
]  # fmt: skip


def test_completed_folds_are_not_retrained_and_the_summary_covers_all(
    synthetic_nemo, tmp_path, trained_splits, capsys
):
    from kser.data import load_corpus

    run_dir = tmp_path / "cv"
    first = run_cross_validation(
        load_corpus(synthetic_nemo, verbose=False), CONFIG, run_dir, verbose=0
    )
    assert first.trained == FOLDS and first.reused == [] and trained_splits == FOLDS
    fold_metrics = [json.loads((run_dir / fold / "metrics.json").read_text()) for fold in FOLDS]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["n_folds"] == 2 and summary["protocol"] == "loso"
    assert summary["uar"]["mean"] == pytest.approx(np.mean([m["uar"] for m in fold_metrics]))
    assert summary["uar"]["std"] == pytest.approx(np.std([m["uar"] for m in fold_metrics], ddof=1))
    np.testing.assert_array_equal(
        summary["pooled_confusion_matrix"],
        np.sum([m["confusion_matrix"] for m in fold_metrics], axis=0),
    )
    with (run_dir / "folds.csv").open() as file:
        assert [row["name"] for row in csv.DictReader(file)] == FOLDS
    report = (run_dir / "cross_validation.md").read_text()
    assert "Pooled confusion matrix" in report and "loso-M2" in report

    # Lose one fold, rerun through the CLI: only that fold trains again.
    kept = (run_dir / FOLDS[0] / "metrics.json").stat().st_mtime_ns
    shutil.rmtree(run_dir / FOLDS[1])
    arguments = ["cv", "--data", str(synthetic_nemo), "--out", str(run_dir), *CLI_ARGUMENTS]
    assert cli.main(arguments) == 0

    assert trained_splits == [*FOLDS, FOLDS[1]]
    assert (run_dir / FOLDS[0] / "metrics.json").stat().st_mtime_ns == kept
    assert split_is_complete(run_dir / FOLDS[1])
    resumed = json.loads((run_dir / "summary.json").read_text())
    assert [fold["name"] for fold in resumed["folds"]] == FOLDS
    assert resumed["folds"][0] == summary["folds"][0]
    output = capsys.readouterr().out
    assert "Mean ± std over 2 folds" in output
    assert f"folds trained now: {FOLDS[1]}; complete before: {FOLDS[0]}" in output


def test_a_run_directory_of_other_settings_is_refused_before_training(
    synthetic_nemo, tmp_path, trained_splits
):
    from kser.data import load_corpus

    corpus = load_corpus(synthetic_nemo, verbose=False)
    stored = tmp_path / "config.json"
    stored.write_text(json.dumps(dataclasses.asdict(dataclasses.replace(CONFIG, epochs=5))))
    with pytest.raises(KserError, match="epochs: 5 -> 1"):
        run_cross_validation(corpus, CONFIG, tmp_path, verbose=0)
    assert trained_splits == []
    # Running other folds of the same settings into the directory is fine.
    stored.write_text(json.dumps(dataclasses.asdict(dataclasses.replace(CONFIG, folds=None))))
    check_same_configuration(tmp_path, CONFIG)


def test_only_cross_validation_protocols_are_accepted(synthetic_nemo, tmp_path, capsys):
    from kser.data import load_corpus

    corpus = load_corpus(synthetic_nemo, verbose=False)
    with pytest.raises(ValueError, match="loso or kfold"):
        run_cross_validation(corpus, dataclasses.replace(CONFIG, protocol="speaker"), tmp_path)
    arguments = ["cv", "--data", str(synthetic_nemo), "--protocol", "seed", "--no-mlflow"]
    assert cli.main(arguments) == 2
    assert "cv needs --protocol loso or kfold" in capsys.readouterr().err
