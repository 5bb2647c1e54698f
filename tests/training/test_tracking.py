"""`Tracker`: parameters, per-epoch metrics and files reach the MLflow store, offline."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from kser.training import Tracker, train
from tests.training.helpers import synthetic_batches, tiny_classifier


@pytest.fixture(scope="module")
def store_uri(tmp_path_factory):
    # One store for the module: creating MLflow's schema takes seconds.
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlruns.db'}"


def test_a_training_run_is_logged(tmp_path, store_uri):
    report = tmp_path / "run" / "report.md"
    report.parent.mkdir()
    report.write_text("# report\n")
    tracker = Tracker(store_uri, experiment="tests")
    with tracker.run("tiny", tmp_path / "run") as run:
        run.log_params({"model": "dense", "optimizer": {"name": "adamw", "lr": 0.01}})
        train(
            tiny_classifier(),
            synthetic_batches(),
            synthetic_batches(seed=1),
            run_dir=tmp_path / "run",
            epochs=3,
            tracker=run,
            verbose=0,
        )
        run.log_artifact(report)

    client = MlflowClient(store_uri)
    logged = client.get_run(tracker.run_id)
    assert logged.info.status == "FINISHED" and logged.info.run_name == "tiny"
    assert logged.data.params["model"] == "dense"
    assert logged.data.params["optimizer.lr"] == "0.01"
    steps = [m.step for m in client.get_metric_history(tracker.run_id, "val_uar")]
    assert steps == [1, 2, 3]
    assert {"loss", "val_loss", "learning_rate"} <= set(logged.data.metrics)
    assert [f.path for f in client.list_artifacts(tracker.run_id)] == ["report.md"]


def test_a_failed_block_marks_the_run_failed_and_a_rerun_continues_it(tmp_path, store_uri):
    tracker = Tracker(store_uri)
    with pytest.raises(RuntimeError), tracker.run("crashes", tmp_path) as run:
        run.log_params({"epochs": 3})
        raise RuntimeError("interrupted")
    failed_id = tracker.run_id
    assert MlflowClient(store_uri).get_run(failed_id).info.status == "FAILED"

    with tracker.run("crashes", tmp_path) as run:
        run.log_params({"epochs": 3})  # logging the same parameter again is allowed
        run.log_metrics({"test_uar": 0.5})
    assert tracker.run_id == failed_id
    finished = MlflowClient(store_uri).get_run(failed_id)
    assert finished.info.status == "FINISHED" and finished.data.metrics["test_uar"] == 0.5

    with tracker.run("again", tmp_path):
        pass
    assert tracker.run_id != failed_id  # a finished run is never reopened
