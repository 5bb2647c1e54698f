"""`aggregate_folds`: summarise cross-validation folds (loso, kfold)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kser.errors import KserEvaluationError
from kser.evaluation import metrics

_SUMMARISED = ("uar", "accuracy", "macro_f1")


def aggregate_folds(fold_results, names=None) -> dict:
    """Mean ± std over folds, the pooled confusion matrix, and a per-fold table.

    Args:
        fold_results: one `EvaluationResult` (or its `to_dict()`, e.g. read back
            from a fold's metrics.json) per fold, all with the same labels.
        names: optional fold names (e.g. the held-out speaker); default "0", "1", ...

    Returns:
        A JSON-serialisable dict: `n_folds`, `labels`; for each of uar, accuracy,
        macro_f1 a dict of `mean`, `std` (sample standard deviation over folds,
        ddof=1; None for a single fold) and `values`; `pooled_confusion_matrix`
        (fold matrices summed) with the `pooled_uar` and `pooled_accuracy` it
        gives; and `folds`, one row per fold (name, n, uar, accuracy, macro_f1).
        Each fold weighs the same in the mean, whatever its size; the pooled
        figures weigh each clip the same.
    """
    folds = [result if isinstance(result, Mapping) else result.to_dict() for result in fold_results]
    if not folds:
        raise KserEvaluationError("aggregate_folds needs at least one fold result")
    names = [str(i) for i in range(len(folds))] if names is None else [str(n) for n in names]
    if len(names) != len(folds):
        raise KserEvaluationError(
            f"names has {len(names)} entries but there are {len(folds)} folds"
        )
    labels = list(folds[0]["labels"])
    for name, fold in zip(names, folds, strict=True):
        if list(fold["labels"]) != labels:
            raise KserEvaluationError(
                f"fold {name} has labels {list(fold['labels'])}, fold {names[0]} has {labels}"
            )
    pooled = np.sum([np.asarray(fold["confusion_matrix"]) for fold in folds], axis=0)
    summary = {"n_folds": len(folds), "labels": labels}
    for key in _SUMMARISED:
        values = [float(fold[key]) for fold in folds]
        summary[key] = {
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
            "values": values,
        }
    summary["pooled_confusion_matrix"] = pooled.tolist()
    summary["pooled_uar"] = metrics.unweighted_average_recall(pooled)
    summary["pooled_accuracy"] = metrics.accuracy(pooled)
    summary["folds"] = [
        {"name": name, "n": int(fold["n"]), **{key: float(fold[key]) for key in _SUMMARISED}}
        for name, fold in zip(names, folds, strict=True)
    ]
    return summary
