"""`compare_runs`: rank evaluated run directories by UAR, and test the top two.

The significance test is McNemar's on the clips both runs scored: only the
discordant clips (one run right, the other wrong) carry information. With
fewer than 25 discordant clips the exact two-sided binomial test is used;
otherwise the chi-square test with continuity correction,
(|b - c| - 1)^2 / (b + c) on 1 degree of freedom. Runs are paired by the clip
ids in predictions.csv, never by row order, and only when both runs scored
exactly the same clips with the same true labels.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

from kser.errors import KserEvaluationError
from kser.evaluation.report import METRICS_FILE, PREDICTIONS_FILE
from kser.evaluation.tables import Table, format_interval, format_number, format_text_table

EXACT_BELOW = 25
EXACT_METHOD = f"exact binomial, two-sided (discordant clips < {EXACT_BELOW})"
CHI_SQUARE_METHOD = (
    f"chi-square with continuity correction, 1 dof (discordant clips >= {EXACT_BELOW})"
)


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test between two runs on their shared clips."""

    run_a: str
    run_b: str
    n_shared: int
    only_a_correct: int
    only_b_correct: int
    statistic: float | None  # None for the exact test
    p_value: float
    method: str


@dataclass(frozen=True)
class RunComparison:
    """Runs ranked by UAR (best first), and McNemar's test between the top two if it could run."""

    rows: list[dict]
    mcnemar: McNemarResult | None
    mcnemar_note: str  # why the test was not run; empty when it was

    def format_text(self) -> str:
        table = Table(
            "Runs ranked by UAR",
            (
                "rank",
                "run",
                "UAR",
                "UAR 95% CI",
                "accuracy",
                "acc. 95% CI",
                "macro F1",
                "clips",
                "protocol",
                "feature",
                "model",
            ),
            [
                (
                    str(row["rank"]),
                    row["run"],
                    format_number(row["uar"]),
                    format_interval(row["uar_ci"]),
                    format_number(row["accuracy"]),
                    format_interval(row["accuracy_ci"]),
                    format_number(row["macro_f1"]),
                    str(row["n"]),
                    row["protocol"],
                    row["feature"],
                    row["model"],
                )
                for row in self.rows
            ],
        )
        if self.mcnemar is None:
            return format_text_table(table) + f"\n\nMcNemar: not run: {self.mcnemar_note}"
        test = self.mcnemar
        statistic = "" if test.statistic is None else f", statistic {test.statistic:.4f}"
        return format_text_table(table) + (
            f"\n\nMcNemar {test.run_a} vs {test.run_b} on {test.n_shared} shared clips: "
            f"{test.only_a_correct} right only in the first, {test.only_b_correct} only in the "
            f"second; p = {test.p_value:.4g}{statistic} ({test.method})"
        )


def compare_runs(run_dirs) -> RunComparison:
    """Rank run directories (each holding metrics.json) by UAR; test the top two.

    Raises:
        KserEvaluationError: when a directory has no readable metrics.json.
    """
    runs = [_load_metrics(Path(run_dir)) for run_dir in run_dirs]
    if not runs:
        raise KserEvaluationError("compare_runs needs at least one run directory")
    ranked = sorted(runs, key=lambda run: -run["uar"])  # stable: ties keep the given order
    rows = [
        {
            "rank": rank,
            "run": run["run"],
            "uar": run["uar"],
            "uar_ci": run.get("uar_ci"),
            "accuracy": run["accuracy"],
            "accuracy_ci": run.get("accuracy_ci"),
            "macro_f1": run.get("macro_f1"),
            "n": run.get("n"),
            **{
                key: str(run.get("metadata", {}).get(key, ""))
                for key in ("protocol", "feature", "model")
            },
        }
        for rank, run in enumerate(ranked, start=1)
    ]
    if len(ranked) < 2:
        return RunComparison(rows, None, "needs at least two runs")
    first, second = ranked[0]["run"], ranked[1]["run"]
    try:
        correct_a, correct_b = _paired_correctness(Path(first), Path(second))
    except _NotPaired as reason:
        return RunComparison(rows, None, str(reason))
    only_a = sum(a and not b for a, b in zip(correct_a, correct_b, strict=True))
    only_b = sum(b and not a for a, b in zip(correct_a, correct_b, strict=True))
    statistic, p_value, method = mcnemar(only_a, only_b)
    test = McNemarResult(first, second, len(correct_a), only_a, only_b, statistic, p_value, method)
    return RunComparison(rows, test, "")


def mcnemar(only_a_correct: int, only_b_correct: int) -> tuple[float | None, float, str]:
    """McNemar's test from the two discordant counts: `(statistic, p_value, method)`."""
    discordant = only_a_correct + only_b_correct
    if discordant < EXACT_BELOW:
        tail = sum(math.comb(discordant, k) for k in range(min(only_a_correct, only_b_correct) + 1))
        # Integer true division is correctly rounded: the p-value is exact to float precision.
        return None, min(1.0, 2 * tail / 2**discordant), EXACT_METHOD
    statistic = (abs(only_a_correct - only_b_correct) - 1) ** 2 / discordant
    # Survival function of chi-square with 1 dof: P(X > x) = erfc(sqrt(x / 2)).
    return statistic, math.erfc(math.sqrt(statistic / 2)), CHI_SQUARE_METHOD


class _NotPaired(Exception):
    """The two runs cannot be paired clip by clip; the message says why."""


def _load_metrics(run_dir: Path) -> dict:
    path = run_dir / METRICS_FILE
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise KserEvaluationError(f"{path}: not found; is {run_dir} an evaluated run?") from error
    except json.JSONDecodeError as error:
        raise KserEvaluationError(f"{path}: not valid JSON ({error})") from error
    missing = [key for key in ("uar", "accuracy") if not isinstance(record.get(key), (int, float))]
    if missing:
        raise KserEvaluationError(f"{path}: no numeric {', '.join(missing)}")
    return {**record, "run": str(run_dir)}


def _paired_correctness(run_a: Path, run_b: Path) -> tuple[list[bool], list[bool]]:
    """Per-clip correctness of both runs, aligned by clip id."""
    a, b = _predictions_by_clip(run_a), _predictions_by_clip(run_b)
    if a.keys() != b.keys():
        shared = len(a.keys() & b.keys())
        raise _NotPaired(
            f"{run_a} and {run_b} scored different clips ({len(a)} and {len(b)}, {shared} shared)"
        )
    clips = sorted(a)
    mismatched = sum(a[clip][0] != b[clip][0] for clip in clips)
    if mismatched:
        raise _NotPaired(f"{run_a} and {run_b} disagree on the true label of {mismatched} clips")
    return [a[clip][0] == a[clip][1] for clip in clips], [
        b[clip][0] == b[clip][1] for clip in clips
    ]


def _predictions_by_clip(run_dir: Path) -> dict[str, tuple[str, str]]:
    """clip id -> (true label, predicted label) from predictions.csv."""
    path = run_dir / PREDICTIONS_FILE
    if not path.is_file():
        raise _NotPaired(f"{path} not found")
    with path.open(newline="") as file:
        rows = list(csv.DictReader(file))
    clip_ids = [row.get("clip_id") or "" for row in rows]
    if not rows or not all(clip_ids):
        raise _NotPaired(f"{path} has no clip ids, so its clips cannot be matched to another run's")
    if len(set(clip_ids)) != len(clip_ids):
        raise _NotPaired(f"{path} repeats clip ids")
    return {row["clip_id"]: (row["true_label"], row["predicted_label"]) for row in rows}
