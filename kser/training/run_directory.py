"""What a run directory already holds, checked before a run writes into it.

A run directory is new, an interrupted run (resumed by the same settings), or
a finished one. `check_run_directory` refuses the two mistakes that would
otherwise cost work or results: resuming with other settings (the
checkpoints would not fit the model) and retraining over a finished run
(its bundle would be replaced); `clear_run_directory` deletes a run the user
chose to overwrite.
`interruption_summary` says, after Ctrl-C, what was saved and how to resume.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from kser.errors import KserConfigError, KserError
from kser.evaluation.report import METRICS_FILE
from kser.inference.bundle import BUNDLE_FILE
from kser.training.resume import backed_up_epoch

CONFIG_FILE = "config.json"
SUMMARY_FILE = "summary.json"
# Settings that may differ between runs into one directory: which folds to run now.
_RERUN_MAY_CHANGE = ("folds",)


def split_is_complete(directory) -> bool:
    """Whether `directory` holds a finished split (a fold, or a single-split run):
    its metrics.json and its bundle.

    The per-split step writes metrics.json, then the bundle (atomically), so
    a split interrupted anywhere before the end lacks one of them.
    """
    directory = Path(directory)
    return (directory / METRICS_FILE).is_file() and (directory / "bundle" / BUNDLE_FILE).is_file()


def run_is_complete(run_dir) -> bool:
    """Whether `run_dir` holds a finished `run_experiment`: its split, or its folds' summary."""
    run_dir = Path(run_dir)
    return split_is_complete(run_dir) or (run_dir / SUMMARY_FILE).is_file()


def read_run_record(run_dir) -> dict:
    """A finished run's metrics.json, or for a multi-fold run its summary.json with the
    folds' metrics.json records, in the summary's order, under `fold_records`.

    Raises:
        KserError: a file is missing, unreadable or not JSON (named).
    """
    run_dir = Path(run_dir)
    if (run_dir / METRICS_FILE).is_file():
        return read_json(run_dir / METRICS_FILE)
    summary = read_json(run_dir / SUMMARY_FILE)
    summary["fold_records"] = [
        read_json(run_dir / fold["name"] / METRICS_FILE) for fold in summary["folds"]
    ]
    return summary


def read_json(path: Path) -> dict:
    """The JSON object in `path`; a missing or broken file raises `KserError` naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KserError(f"{path}: cannot read ({error})") from None


def check_run_directory(run_dir, config, *, finished_ok: bool = False) -> None:
    """Check that `config` may run into `run_dir` (new, or an interrupted run of `config`).

    `finished_ok`: a finished run is no error (cross-validation reuses its
    complete folds). Writes nothing.

    Raises:
        KserConfigError: `run_dir` is a file, holds a run of other settings,
            or (unless `finished_ok`) a finished run.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise KserConfigError(f"{run_dir}: is a file, not a run directory; choose another --out")
    check_same_configuration(run_dir, config)
    if not finished_ok and (run_dir / CONFIG_FILE).is_file() and run_is_complete(run_dir):
        raise KserConfigError(
            f"{run_dir}: holds a finished run; pass --overwrite to train it again, "
            "or choose another --out"
        )


def clear_run_directory(run_dir) -> None:
    """Delete the kser run in `run_dir` (a directory with config.json); leave anything else."""
    run_dir = Path(run_dir)
    if (run_dir / CONFIG_FILE).is_file():
        shutil.rmtree(run_dir)


def check_same_configuration(run_dir, config) -> None:
    """Raise `KserConfigError` if `run_dir` holds a run (config.json) of other settings.

    Resuming into such a directory would mix results of two configurations,
    or load checkpoints into a model they do not fit.
    """
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KserConfigError(f"{path}: cannot read the run's settings ({error})") from None
    current = json.loads(json.dumps(dataclasses.asdict(config)))
    differing = sorted(
        key
        for key in set(stored) | set(current)
        if key not in _RERUN_MAY_CHANGE and stored.get(key) != current.get(key)
    )
    if differing:
        changes = ", ".join(
            f"{key}: {stored.get(key)!r} -> {current.get(key)!r}" for key in differing
        )
        raise KserConfigError(
            f"{path.parent}: holds a run with other settings ({changes}); rerun with the "
            "same settings to resume it, pass --overwrite to start afresh, "
            "or choose another --out"
        )


def read_config(path):
    """The `ExperimentConfig` saved in `path` (a run's config.json, or the run directory).

    Raises:
        KserConfigError: no readable config.json there, or one with unknown or bad options.
    """
    from kser.training.run import ExperimentConfig

    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_FILE
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KserConfigError(f"{path}: cannot read the run's settings ({error})") from None
    if not isinstance(stored, dict):
        raise KserConfigError(f"{path}: not a run's settings (a JSON object)")
    known = {option.name for option in dataclasses.fields(ExperimentConfig)}
    unknown = sorted(set(stored) - known)
    if unknown:
        raise KserConfigError(f"{path}: unknown option(s) {', '.join(unknown)}")
    try:
        return ExperimentConfig(**stored)
    except KserConfigError as error:
        raise KserConfigError(f"{path}: {error}") from None


def interruption_summary(run_dir) -> str:
    """One line: what an interrupted run left in `run_dir`, and how to go on."""
    run_dir = Path(run_dir)
    saved = []
    for checkpoints in sorted(run_dir.glob("**/checkpoints")):
        epochs = backed_up_epoch(checkpoints)
        if epochs:
            where = checkpoints.parent.relative_to(run_dir).as_posix()
            saved.append(f"{epochs} epoch(s) of {'the run' if where == '.' else where}")
    finished = [path.parent.name for path in sorted(run_dir.glob(f"*/bundle/{BUNDLE_FILE}"))]
    parts = []
    if finished:
        parts.append(f"finished folds: {', '.join(finished)}")
    if saved:
        parts.append(f"checkpoints after {', '.join(saved)}")
    state = "; ".join(parts) if parts else "no finished epoch"
    return f"interrupted; saved in {run_dir}: {state}. Resume: the same command, --out {run_dir}"
