"""Seeded percentile-bootstrap confidence intervals for UAR and accuracy.

Clips are resampled with replacement, independently. Clips of one speaker are
not independent, so on a speaker-independent test set with few speakers these
intervals are narrower than the true uncertainty: read them as a lower bound.
"""

from __future__ import annotations

import numpy as np

# Resample this many (resample, clip) index pairs at a time, to bound memory on large test sets.
_INDICES_PER_CHUNK = 2_000_000


def resampled_scores(y_true, y_pred, n_classes: int, indices) -> tuple[np.ndarray, np.ndarray]:
    """UAR and accuracy of each resample, one resample per row of `indices`.

    Args:
        y_true, y_pred: class indices, shape `(n,)`.
        n_classes: number of classes.
        indices: clip indices, shape `(n_resamples, n)`.

    Returns:
        `(uar, accuracy)`, each of shape `(n_resamples,)`. Within a resample UAR
        averages over the classes that resample contains, as `metrics` does.
    """
    y_true = np.asarray(y_true)
    correct = (y_true == np.asarray(y_pred)).astype(np.float64)
    indices = np.asarray(indices)
    n_resamples = indices.shape[0]
    # One bincount for all resamples: resample r, class k goes to bin r * n_classes + k.
    bins = (np.arange(n_resamples)[:, None] * n_classes + y_true[indices]).ravel()
    size = n_resamples * n_classes
    class_counts = np.bincount(bins, minlength=size).reshape(n_resamples, n_classes)
    class_hits = np.bincount(bins, weights=correct[indices].ravel(), minlength=size)
    class_hits = class_hits.reshape(n_resamples, n_classes)
    present = class_counts > 0
    recall = np.divide(class_hits, class_counts, out=np.zeros(class_hits.shape), where=present)
    uar = recall.sum(axis=1) / present.sum(axis=1)
    accuracy = correct[indices].mean(axis=1)
    return uar, accuracy


def bootstrap_intervals(
    y_true, y_pred, n_classes: int, *, n_resamples: int, seed: int, level: float = 0.95
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Percentile-bootstrap intervals `((uar_low, uar_high), (acc_low, acc_high))`.

    The same resamples serve both metrics. Percentiles use numpy's default
    linear interpolation. Deterministic given `seed`.
    """
    n = len(y_true)
    rng = np.random.default_rng(seed)
    chunk = max(1, _INDICES_PER_CHUNK // n)
    uar_parts, accuracy_parts = [], []
    for start in range(0, n_resamples, chunk):
        indices = rng.integers(0, n, size=(min(chunk, n_resamples - start), n))
        uar, accuracy = resampled_scores(y_true, y_pred, n_classes, indices)
        uar_parts.append(uar)
        accuracy_parts.append(accuracy)
    tail = 100 * (1 - level) / 2
    percentiles = [tail, 100 - tail]
    uar_low, uar_high = np.percentile(np.concatenate(uar_parts), percentiles)
    accuracy_low, accuracy_high = np.percentile(np.concatenate(accuracy_parts), percentiles)
    return (float(uar_low), float(uar_high)), (float(accuracy_low), float(accuracy_high))
