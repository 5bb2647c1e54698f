"""Scoring and reporting: metrics with confidence intervals, run reports, run comparison.

UAR (macro recall, the headline) averages recall over the classes present in
the test set; see `kser.evaluation.metrics` for every convention. Names are
imported on first use, so `kser.evaluation.calibration` loads with numpy and
scipy alone (as `kser.runtime` needs).
"""

from kser.lazy import lazy_attributes

# name -> the submodule that defines it.
_EXPORTS = {
    "McNemarResult": "compare",
    "RunComparison": "compare",
    "compare_runs": "compare",
    "mcnemar": "compare",
    "aggregate_folds": "fold_summary",
    "write_report": "report",
    "EvaluationResult": "result",
    "evaluate": "result",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_attributes(__name__, _EXPORTS)
