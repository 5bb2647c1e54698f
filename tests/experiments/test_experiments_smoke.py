"""Every experiment script's `--smoke` run, in-process, on one tiny synthetic corpus.

Each run trains for 1 epoch on 1 s clips (seconds); the assertions check what
the script promises to write, not the (meaningless) scores.
"""

from __future__ import annotations

import csv
import importlib
import json

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from experiments import augmentation_ablation, backend_comparison, feature_comparison
from kser import features
from kser.errors import KserFeatureError
from kser.training import load_bundle
from tests.helpers import make_nemo_directory


@pytest.fixture(scope="module")
def smoke_data(tmp_path_factory):
    """The 7-speaker synthetic nEMO directory (2 clips per speaker and emotion)."""
    return make_nemo_directory(tmp_path_factory.mktemp("smoke") / "nemo")


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory):
    """One MLflow store for the module's runs (creating a store costs seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlruns.db'}"


def _smoke(module, data, out, *extra):
    return module.main(["--data", str(data), "--out", str(out), "--smoke", *extra])


def _check_single_run(out, model, feature):
    """metrics.json of a 1-epoch run of `model` on `feature`, and a bundle that predicts."""
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["uar"] <= 1.0
    assert metrics["uar_ci"][0] <= metrics["uar"] <= metrics["uar_ci"][1]
    assert (metrics["metadata"]["model"], metrics["metadata"]["feature"]) == (model, feature)
    assert metrics["metadata"]["epochs_run"] == 1
    bundle = load_bundle(out)
    assert bundle.extractor.name == feature
    clip = json.loads((out / "split.json").read_text())["test"][0]
    (prediction,) = bundle.predict_files([clip["path"]])
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    return metrics


@pytest.mark.parametrize(
    "name, model, feature",
    [
        ("resnet_mel", "audio_resnet", "mel"),
        ("vgg16_mel", "vgg16", "mel"),
        ("cnn3_augmented", "cnn3", "mel"),
        ("conv1d_waveform", "conv1d", "waveform"),
        ("zcr_rms_bilstm", "parallel_conv_bilstm", "stack"),
    ],
)
def test_single_model_experiment_writes_report_bundle_and_mlflow_run(
    name, model, feature, smoke_data, mlflow_store, tmp_path
):
    module = importlib.import_module(f"experiments.{name}")
    out = tmp_path / name  # the MLflow run's name
    assert _smoke(module, smoke_data, out, "--mlflow-uri", mlflow_store) == 0
    metrics = _check_single_run(out, model, feature)
    for report in ("report.md", "report.html", "confusion.png", "predictions.csv"):
        assert (out / report).is_file(), report
    assert metrics["metadata"]["augment"] == module.CONFIG.augment
    client = MlflowClient(mlflow_store)
    (run,) = client.search_runs(
        [client.get_experiment_by_name("kser").experiment_id],
        filter_string=f"attributes.run_name = '{name}'",
    )
    assert run.data.metrics["test_uar"] == pytest.approx(metrics["uar"])
    assert run.data.params["model"] == model


@pytest.mark.real
def test_waveform_experiment_on_real_clips(nemo_dir, tmp_path):
    from experiments import conv1d_waveform

    assert _smoke(conv1d_waveform, nemo_dir, tmp_path, "--no-mlflow") == 0
    _check_single_run(tmp_path, "conv1d", "waveform")


def test_feature_comparison_tabulates_and_charts_each_feature_then_resumes(
    smoke_data, tmp_path, capsys
):
    out = tmp_path / "features"
    arguments = ("--no-mlflow", "--features", "mfcc,zcr")
    assert _smoke(feature_comparison, smoke_data, out, *arguments) == 0
    with (out / "feature_comparison.csv").open() as file:
        rows = list(csv.DictReader(file))
    assert sorted(row["feature"] for row in rows) == ["mfcc", "zcr"]
    uars = [float(row["uar"]) for row in rows]
    assert uars == sorted(uars, reverse=True)  # ranked
    for row in rows:
        assert float(row["uar_ci_low"]) <= float(row["uar"]) <= float(row["uar_ci_high"])
        assert 0.0 <= float(row["accuracy"]) <= 1.0 and float(row["training_seconds"]) > 0
        study = feature_comparison.STUDY_ACCURACY[row["feature"]] / 100
        assert float(row["study_accuracy"]) == pytest.approx(study)
        assert json.loads((out / row["feature"] / "metrics.json").read_text())["uar"] == float(
            row["uar"]
        )
    markdown = (out / "feature_comparison.md").read_text()
    assert sum(line.startswith(("| mfcc ", "| zcr ")) for line in markdown.splitlines()) == 2
    assert (out / "feature_comparison.png").read_bytes().startswith(b"\x89PNG")

    finished = (out / "zcr" / "metrics.json").stat().st_mtime_ns
    capsys.readouterr()
    assert _smoke(feature_comparison, smoke_data, out, *arguments) == 0
    assert (out / "zcr" / "metrics.json").stat().st_mtime_ns == finished
    assert capsys.readouterr().out.count("not rerun") == 2


def test_feature_comparison_runs_all_13_features_by_default():
    args = feature_comparison.build_parser().parse_args([])
    assert feature_comparison.selected_features(args.features) == features.names()
    assert len(features.names()) == 13
    assert set(feature_comparison.STUDY_ACCURACY) == set(features.names())
    with pytest.raises(KserFeatureError, match="loudness"):
        feature_comparison.selected_features("mel,loudness")


def test_a_cross_validated_variant_is_tabulated_as_its_fold_mean_with_a_t_interval(tmp_path):
    from experiments.common import metric_row
    from kser.evaluation import aggregate_folds
    from kser.training.run_directory import read_run_record

    run = tmp_path / "mel"
    folds = {"A": (0.4, 3, 10.0), "B": (0.5, 5, 20.0), "C": (0.6, 9, 30.0)}
    records = []
    for name, (uar, best_epoch, seconds) in folds.items():
        record = {
            "labels": ["a", "b"],
            "n": 10,
            "uar": uar,
            "accuracy": uar + 0.1,
            "macro_f1": uar - 0.1,
            "confusion_matrix": [[5, 0], [0, 5]],
            "metadata": {"best_epoch": best_epoch, "training_seconds": seconds},
        }
        (run / name).mkdir(parents=True)
        (run / name / "metrics.json").write_text(json.dumps(record))
        records.append(record)
    summary = aggregate_folds(records, list(folds))
    (run / "summary.json").write_text(json.dumps(summary))

    row = metric_row("feature", "mel", read_run_record(run))
    # mean 0.5, sample std 0.1 over 3 folds: t(0.975, 2) = 4.303 -> half-width 0.2484
    assert row["uar"] == pytest.approx(0.5)
    assert row["uar_ci"] == pytest.approx([0.5 - 0.24841, 0.5 + 0.24841], abs=1e-4)
    assert row["accuracy_ci"] == pytest.approx([0.6 - 0.24841, 0.6 + 0.24841], abs=1e-4)
    assert row["macro_f1"] == pytest.approx(0.4)
    assert (row["best_epoch"], row["training_seconds"]) == (5, 60.0)


def test_feature_comparison_gives_leave_one_speaker_out_a_cheaper_budget(monkeypatch, tmp_path):
    seen = {}

    def record_configs(setup, configs):
        seen.update(configs)
        raise SystemExit(0)  # the budget is all this test checks

    monkeypatch.setattr(feature_comparison, "prepare", lambda args, name: _setup(args, tmp_path))
    monkeypatch.setattr(feature_comparison, "run_variants", record_configs)
    for protocol in ("seed", "loso"):
        with pytest.raises(SystemExit):
            feature_comparison.main(["--protocol", protocol, "--features", "mel"])
        config = seen.pop("mel")
        assert config.protocol == protocol
        expected = feature_comparison.LOSO_CHANGES if protocol == "loso" else {}
        assert config.model_params == expected.get("model_params", {"width": 0.25})
        assert config.epochs == expected.get("epochs", feature_comparison.CONFIG.epochs)


def _setup(args, run_dir):
    from experiments.common import ExperimentSetup

    return ExperimentSetup(None, None, run_dir, smoke=False, epochs=args.epochs)


def test_augmentation_ablation_reports_three_conditions_with_intervals(smoke_data, tmp_path):
    out = tmp_path / "ablation"
    assert _smoke(augmentation_ablation, smoke_data, out, "--no-mlflow") == 0
    table = json.loads((out / "augmentation_ablation.json").read_text())
    rows = table["rows"]
    assert [row["condition"] for row in rows] == ["none", "spectral", "waveform_and_spectral"]
    for row in rows:
        low, high = row["uar_ci"]
        assert 0.0 <= low <= row["uar"] <= high <= 1.0
        assert row["accuracy_ci"][0] <= row["accuracy"] <= row["accuracy_ci"][1]
        assert row["uar_gain"] == pytest.approx(row["uar"] - rows[0]["uar"])
        config = json.loads((out / row["condition"] / "config.json").read_text())
        expected = augmentation_ablation.CONDITIONS[row["condition"]]
        assert (config["augment"], config["waveform_augment"]) == expected
    assert "McNemar" in table["note"]
    splits = {(out / name / "split.json").read_text() for name in augmentation_ablation.CONDITIONS}
    assert len(splits) == 1  # one split for all three


def test_backend_comparison_trains_once_per_backend_on_the_same_split(smoke_data, tmp_path):
    out = tmp_path / "backends"
    assert _smoke(backend_comparison, smoke_data, out, "--no-mlflow") == 0
    rows = json.loads((out / "backend_comparison.json").read_text())["rows"]
    # The backend each worker's Keras reports, not the one it was asked for.
    assert [row["backend"] for row in rows] == ["tensorflow", "torch"]
    for row in rows:
        assert 0.0 <= row["uar"] <= 1.0 and row["epochs_run"] == 1
        assert row["seconds_per_epoch"] > 0 and row["latency_ms_batch_1"] > 0
        assert np.isfinite(row["latency_ms_per_clip_batch_32"])
    assert (out / "tensorflow" / "split.json").read_text() == (
        out / "torch" / "split.json"
    ).read_text()
