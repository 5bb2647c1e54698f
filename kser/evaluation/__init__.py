"""Scoring and reporting: metrics with confidence intervals, run reports, run comparison.

UAR (macro recall, the headline) averages recall over the classes present in
the test set; see `kser.evaluation.metrics` for every convention.
"""

from kser.evaluation.compare import McNemarResult, RunComparison, compare_runs, mcnemar
from kser.evaluation.folds import aggregate_folds
from kser.evaluation.report import write_report
from kser.evaluation.result import EvaluationResult, evaluate

__all__ = [
    "EvaluationResult",
    "McNemarResult",
    "RunComparison",
    "aggregate_folds",
    "compare_runs",
    "evaluate",
    "mcnemar",
    "write_report",
]
