"""`Tracker`: a thin MLflow wrapper that logs a run's parameters, epochs and files.

By default runs go to a local SQLite store, `./mlruns.db` (artifacts in
`./mlartifacts`), which needs no server and no network; browse it with
`mlflow ui --backend-store-uri sqlite:///mlruns.db`. MLflow 3 refuses the old
`./mlruns` file store unless told otherwise, hence SQLite. Pass `uri` (or set
`MLFLOW_TRACKING_URI`) to use another store or a server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from pathlib import Path

from kser.paths import atomic_write_json

DEFAULT_EXPERIMENT = "kser"
RUN_ID_FILE = "mlflow_run.json"
# MLflow rejects longer parameter values.
MAX_PARAM_LENGTH = 6000


def default_tracking_uri() -> str:
    """`$MLFLOW_TRACKING_URI`, else a SQLite store in the current directory."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlruns.db'}"


class Tracker:
    """Logs one run at a time to an MLflow store.

    Use `with tracker.run(name, run_dir): ...`; inside, `log_params`,
    `log_metrics` and `log_artifacts` write to that run. A run whose
    `run_dir` already names an unfinished MLflow run in the same store is
    continued, so a resumed training keeps one MLflow run.
    """

    def __init__(self, uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT):
        self.uri = uri or default_tracking_uri()
        self.experiment = experiment
        self.run_id: str | None = None
        with _quiet_mlflow():
            from mlflow.tracking import MlflowClient

            self.client = MlflowClient(tracking_uri=self.uri)
            self.experiment_id = self._experiment_id()

    @contextlib.contextmanager
    def run(self, name: str, run_dir=None, tags: dict | None = None):
        """Start (or continue) a run; end it FINISHED, or FAILED if the block raises."""
        self.run_id = self._resumable_run_id(run_dir) or self._new_run_id(name, tags)
        if run_dir is not None:
            atomic_write_json(
                Path(run_dir) / RUN_ID_FILE,
                {"tracking_uri": self.uri, "experiment": self.experiment, "run_id": self.run_id},
            )
        try:
            yield self
        except BaseException:
            self._end("FAILED")
            raise
        self._end("FINISHED")

    def log_params(self, params: dict) -> None:
        """Log parameters; nested dicts become dotted keys, values become text."""
        from mlflow.entities import Param

        logged = self.client.get_run(self.run_id).data.params
        # MLflow forbids re-logging a parameter, which a resumed run would do.
        fresh = [Param(key, value) for key, value in _flatten(params).items() if key not in logged]
        with _quiet_mlflow():
            for start in range(0, len(fresh), 100):
                self.client.log_batch(self.run_id, params=fresh[start : start + 100])

    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        """Log numeric metrics (others are skipped) at `step`."""
        import time

        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        batch = [
            Metric(key, float(value), timestamp, step or 0)
            for key, value in _flatten(metrics, numeric=True).items()
        ]
        with _quiet_mlflow():
            self.client.log_batch(self.run_id, metrics=batch)

    def log_artifacts(self, directory, artifact_path: str | None = None) -> None:
        """Copy the files under `directory` into the run's artifacts."""
        with _quiet_mlflow():
            self.client.log_artifacts(self.run_id, str(directory), artifact_path)

    def log_artifact(self, path, artifact_path: str | None = None) -> None:
        """Copy one file into the run's artifacts."""
        with _quiet_mlflow():
            self.client.log_artifact(self.run_id, str(path), artifact_path)

    def set_tags(self, tags: dict) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, str(value))

    def _experiment_id(self) -> str:
        experiment = self.client.get_experiment_by_name(self.experiment)
        if experiment is not None:
            return experiment.experiment_id
        artifact_location = None
        if self.uri.startswith("sqlite:///"):
            # Keep artifacts next to the database, not wherever the process happens to run.
            store = Path(self.uri[len("sqlite:///") :])
            artifact_location = (store.parent / "mlartifacts").resolve().as_uri()
        return self.client.create_experiment(self.experiment, artifact_location=artifact_location)

    def _new_run_id(self, name, tags) -> str:
        with _quiet_mlflow():
            run = self.client.create_run(self.experiment_id, run_name=name, tags=tags or {})
        return run.info.run_id

    def _resumable_run_id(self, run_dir) -> str | None:
        if run_dir is None or not (Path(run_dir) / RUN_ID_FILE).is_file():
            return None
        saved = json.loads((Path(run_dir) / RUN_ID_FILE).read_text(encoding="utf-8"))
        if (saved.get("tracking_uri"), saved.get("experiment")) != (self.uri, self.experiment):
            return None
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(saved["run_id"])
        except MlflowException:
            return None
        if run.info.status == "FINISHED":
            return None
        self.client.update_run(run.info.run_id, status="RUNNING")
        return run.info.run_id

    def _end(self, status: str) -> None:
        with _quiet_mlflow():
            self.client.set_terminated(self.run_id, status=status)


@contextlib.contextmanager
def _quiet_mlflow():
    """Hide MLflow's and its database layer's routine chatter (schema setup, deprecations)."""
    import mlflow  # noqa: F401  (configures its loggers on import; quiet them after that)

    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _flatten(values: dict, prefix: str = "", numeric: bool = False) -> dict:
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}.", numeric))
        elif numeric:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                flat[name] = value
            elif hasattr(value, "item"):
                flat[name] = value.item()
        else:
            flat[name] = str(value)[:MAX_PARAM_LENGTH]
    return flat
