"""`run_cross_validation`: one model per fold (loso, kfold), resumable, summarised over folds.

    outcome = run_cross_validation(load_corpus(), ExperimentConfig(protocol="loso"), "runs/cv")

The folds are trained by `run_experiment` (file lists, training with
checkpoint selection, report, bundle) into `<run_dir>/<fold>/`. A fold whose
directory holds metrics.json and bundle/bundle.json is complete and is never
trained again: rerunning the same command after an interruption trains only
the missing folds, and the interrupted one resumes from its checkpoints.
Cross-validation adds the tables; the run directory gets

    config.json              the configuration; a rerun must match it (except `folds`)
    summary.json             mean ± std over folds, pooled confusion matrix, per-fold rows
    cross_validation.md      the same as tables
    folds.csv                one row per fold

The summary is always rebuilt from the folds' metrics.json files, so reused
and freshly trained folds are summarised alike.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path

from kser.errors import KserConfigError
from kser.evaluation.report import METRICS_FILE  # noqa: F401  (older imports)
from kser.evaluation.tables import Table, format_markdown_table, format_number
from kser.paths import atomic_write_text
from kser.training.run import MULTI_SPLIT_PROTOCOLS
from kser.training.run_directory import (  # noqa: F401  (the last two: older imports)
    SUMMARY_FILE,
    check_same_configuration,
    split_is_complete,
)

CROSS_VALIDATION_PROTOCOLS = MULTI_SPLIT_PROTOCOLS
REPORT_FILE = "cross_validation.md"
FOLDS_FILE = "folds.csv"


@dataclass
class CrossValidationOutcome:
    """The summary over folds, and which folds this call trained or found complete."""

    run_dir: Path
    summary: dict
    trained: list[str]
    reused: list[str]
    seconds: float


def run_cross_validation(
    corpus,
    config,
    run_dir,
    *,
    tracker=None,
    cache_root=None,
    verbose: int = 1,
) -> CrossValidationOutcome:
    """Train and test `config` on every fold of its protocol, skipping completed folds.

    Args:
        corpus: a `kser.data.Corpus`.
        config: an `ExperimentConfig` with protocol "loso" or "kfold";
            `config.folds` limits the run (and the summary) to those folds.
        run_dir: the run directory; folds go to `<run_dir>/<fold name>/`.
        tracker: a `kser.training.Tracker`: one MLflow run per trained fold and
            one for the summary. None logs nothing.
        cache_root: feature cache root (default: `kser.paths.cache_root()`).
        verbose: 0 silent, 1 progress bars, 2 one line per epoch.

    Raises:
        KserConfigError: another protocol, an unknown fold name, or a
            `run_dir` holding a run made with a different configuration.
    """
    from kser.training.run import run_experiment

    if config.protocol not in CROSS_VALIDATION_PROTOCOLS:
        raise KserConfigError(
            f"cross-validation needs protocol {' or '.join(CROSS_VALIDATION_PROTOCOLS)}. "
            f"Received: protocol={config.protocol!r}"
        )
    outcome = run_experiment(
        corpus, config, run_dir, tracker=tracker, cache_root=cache_root, verbose=verbose
    )
    run_dir, summary = outcome.run_dir, outcome.summary
    title = f"{config.run_name()}: {summary['n_folds']} folds ({run_dir.name})"
    atomic_write_text(run_dir / REPORT_FILE, cross_validation_markdown(summary, title))
    atomic_write_text(run_dir / FOLDS_FILE, _folds_csv(summary))
    if tracker is not None:
        _log_summary(tracker, run_dir, config, summary)
    return CrossValidationOutcome(
        run_dir, summary, outcome.trained, outcome.reused, outcome.seconds
    )


def cross_validation_tables(summary: dict) -> list[Table]:
    """Mean ± std over folds (with the pooled figures), per-fold rows, pooled confusion matrix."""
    pooled = {"uar": summary["pooled_uar"], "accuracy": summary["pooled_accuracy"]}
    overall = Table(
        f"Mean ± std over {summary['n_folds']} folds",
        ("metric", "mean", "std", "pooled"),
        [
            (
                label,
                format_number(summary[key]["mean"]),
                format_number(summary[key]["std"]),
                format_number(pooled.get(key)),
            )
            for key, label in (("uar", "UAR"), ("accuracy", "accuracy"), ("macro_f1", "macro F1"))
        ],
        "Every fold weighs the same in the mean; pooled: all folds' test clips scored together "
        "(the sum of the fold confusion matrices).",
    )
    folds = Table(
        "Per fold",
        ("fold", "clips", "UAR", "accuracy", "macro F1"),
        [
            (
                fold["name"],
                str(fold["n"]),
                format_number(fold["uar"]),
                format_number(fold["accuracy"]),
                format_number(fold["macro_f1"]),
            )
            for fold in summary["folds"]
        ],
    )
    confusion = Table(
        "Pooled confusion matrix (clips; rows: true class)",
        ("true \\ predicted", *summary["labels"]),
        [
            (label, *(str(count) for count in row))
            for label, row in zip(
                summary["labels"], summary["pooled_confusion_matrix"], strict=True
            )
        ],
    )
    return [overall, folds, confusion]


def cross_validation_markdown(summary: dict, title: str) -> str:
    tables = [format_markdown_table(table) for table in cross_validation_tables(summary)]
    return "\n\n".join([f"# {title}", *tables]) + "\n"


def _folds_csv(summary: dict) -> str:
    buffer = io.StringIO()
    columns = ("name", "n", "uar", "accuracy", "macro_f1")
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: fold[key] for key in columns} for fold in summary["folds"])
    return buffer.getvalue()


def _log_summary(tracker, run_dir: Path, config, summary: dict) -> None:
    with tracker.run(f"{run_dir.name}/summary") as run:
        run.log_params({**dataclasses.asdict(config), "n_folds": summary["n_folds"]})
        metrics = {
            f"{key}_{statistic}": summary[key][statistic]
            for key in ("uar", "accuracy", "macro_f1")
            for statistic in ("mean", "std")
            if summary[key][statistic] is not None
        }
        run.log_metrics(
            {
                **metrics,
                "pooled_uar": summary["pooled_uar"],
                "pooled_accuracy": summary["pooled_accuracy"],
            }
        )
        for name in (SUMMARY_FILE, REPORT_FILE, FOLDS_FILE):
            run.log_artifact(run_dir / name)
