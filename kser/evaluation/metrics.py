"""Classification metrics, all derived from one confusion matrix.

Conventions (the same everywhere in kser, and tested against scikit-learn):

- `confusion[i, j]` counts clips of true class i predicted as class j.
- Recall of a class absent from the test set (support 0) is undefined: it is NaN
  here and `null` in JSON. Such a class is left out of every macro average.
- A class present in the test set but never predicted has recall 0 and counts
  fully in the macro averages.
- Precision of a class never predicted is 0 (scikit-learn's `zero_division=0`);
  F1 is 0 whenever precision + recall is 0.
- Every figure is computed from integer counts and rounded once (averages on
  exact fractions), so each is the float nearest to its exact value.
- UAR (unweighted average recall, the headline) = mean recall over the classes
  present in the test set; equals `sklearn.metrics.balanced_accuracy_score`.
  Macro precision and macro F1 average over the same classes; weighted F1
  weights each class by its support (so absent classes weigh nothing).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts of (true, predicted) class pairs, shape `(n_classes, n_classes)`."""
    pair_index = np.asarray(y_true) * n_classes + np.asarray(y_pred)
    counts = np.bincount(pair_index, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def support(confusion: np.ndarray) -> np.ndarray:
    """Clips per true class."""
    return confusion.sum(axis=1)


def predicted_counts(confusion: np.ndarray) -> np.ndarray:
    """Clips predicted as each class."""
    return confusion.sum(axis=0)


def present_classes(confusion: np.ndarray) -> np.ndarray:
    """Boolean mask of the classes that occur in the test set."""
    return support(confusion) > 0


def recall_per_class(confusion: np.ndarray) -> np.ndarray:
    """Recall per class; NaN for a class absent from the test set."""
    true_counts = support(confusion).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(confusion) / true_counts


def precision_per_class(confusion: np.ndarray) -> np.ndarray:
    """Precision per class; 0 for a class never predicted."""
    predicted = predicted_counts(confusion).astype(np.float64)
    hits = np.diag(confusion).astype(np.float64)
    return np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)


def f1_per_class(confusion: np.ndarray) -> np.ndarray:
    """F1 per class; NaN for a class absent from the test set (its recall is undefined).

    Computed as 2 tp / (support + predicted), equal to 2PR / (P + R) but one
    division of integers, so correctly rounded.
    """
    denominators = (support(confusion) + predicted_counts(confusion)).astype(np.float64)
    with np.errstate(invalid="ignore"):  # 0 / 0 for a class neither present nor predicted
        f1 = 2 * np.diag(confusion) / denominators
    return np.where(present_classes(confusion), f1, np.nan)


def accuracy(confusion: np.ndarray) -> float:
    """Fraction of clips predicted correctly (weighted accuracy, WA)."""
    return float(np.trace(confusion) / confusion.sum())


def unweighted_average_recall(confusion: np.ndarray) -> float:
    """UAR: mean recall over the classes present in the test set."""
    present = present_classes(confusion)
    return _exact_mean(np.diag(confusion)[present], support(confusion)[present])


def macro_precision(confusion: np.ndarray) -> float:
    """Mean precision over the classes present in the test set."""
    present = present_classes(confusion)
    # A class never predicted has no hits either: 0 / 1 gives its precision 0.
    predicted = np.maximum(predicted_counts(confusion), 1)
    return _exact_mean(np.diag(confusion)[present], predicted[present])


def macro_f1(confusion: np.ndarray) -> float:
    """Mean F1 over the classes present in the test set."""
    present = present_classes(confusion)
    denominators = support(confusion) + predicted_counts(confusion)
    return _exact_mean(2 * np.diag(confusion)[present], denominators[present])


def weighted_f1(confusion: np.ndarray) -> float:
    """F1 averaged with each class weighted by its support."""
    present = present_classes(confusion)
    true_counts = support(confusion)[present]
    denominators = (support(confusion) + predicted_counts(confusion))[present]
    f1_sum = sum(
        Fraction(int(n) * 2 * int(tp), int(d))
        for n, tp, d in zip(true_counts, np.diag(confusion)[present], denominators, strict=True)
    )
    return float(f1_sum / int(true_counts.sum()))


def _exact_mean(numerators, denominators) -> float:
    """Mean of integer ratios, computed on exact fractions and rounded once: averages are
    correctly rounded, so a hand-computed 7/18 comes out as the float 7/18, not 1 ulp off."""
    ratios = [Fraction(int(a), int(b)) for a, b in zip(numerators, denominators, strict=True)]
    return float(sum(ratios) / len(ratios))


def row_normalized(confusion: np.ndarray) -> np.ndarray:
    """Each row divided by its support; NaN rows for classes absent from the test set."""
    true_counts = support(confusion)[:, None].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return confusion / true_counts


def most_confused_pairs(confusion: np.ndarray, labels) -> list[dict]:
    """Every off-diagonal (true -> predicted) pair that occurred, worst first.

    Each direction is its own entry (anger -> fear and fear -> anger are ranked
    separately). Ranked by `rate`, the share of the true class's clips that went
    to the wrong class, because that is what a confusion costs UAR; ties go to
    the larger count, then to label order.
    """
    rates = row_normalized(confusion)
    pairs = [
        {
            "true": labels[i],
            "predicted": labels[j],
            "count": int(confusion[i, j]),
            "rate": float(rates[i, j]),
        }
        for i in range(len(labels))
        for j in range(len(labels))
        if i != j and confusion[i, j] > 0
    ]
    # sorted() is stable and pairs are built in label order, so ties keep label order.
    return sorted(pairs, key=lambda pair: (-pair["rate"], -pair["count"]))


def uar_by_group(y_true, y_pred, groups, n_classes: int) -> tuple[dict, dict]:
    """UAR within each group (speaker, gender), and the clip count of each group.

    Within a group, UAR averages over the classes that group has clips of.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    groups = np.asarray(groups)
    uar, counts = {}, {}
    for group in sorted(set(groups.tolist())):
        mask = groups == group
        uar[group] = unweighted_average_recall(
            confusion_matrix(y_true[mask], y_pred[mask], n_classes)
        )
        counts[group] = int(mask.sum())
    return uar, counts
