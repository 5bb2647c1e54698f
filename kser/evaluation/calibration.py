"""Calibration: do the model's confidences match how often it is right?

Confidence is the top class probability. Clips are put in equal-width bins
`(lower, upper]` of confidence (the first bin also takes confidence 0). The
expected calibration error (ECE, Guo et al. 2017) is the clip-weighted mean
gap between accuracy and mean confidence over the bins.
"""

from __future__ import annotations

import numpy as np


def reliability_bins(y_true, y_prob, n_bins: int) -> list[dict]:
    """Per-bin clip count, mean confidence and accuracy (the reliability diagram's data).

    Empty bins are kept, with `mean_confidence` and `accuracy` set to None.
    """
    y_prob = np.asarray(y_prob, dtype=np.float64)
    confidence = y_prob.max(axis=1)
    correct = y_prob.argmax(axis=1) == np.asarray(y_true)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # side="left" puts a confidence equal to an upper edge in that edge's bin: (lower, upper].
    bin_index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        in_bin = bin_index == b
        count = int(in_bin.sum())
        bins.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": count,
                "mean_confidence": float(confidence[in_bin].mean()) if count else None,
                "accuracy": float(correct[in_bin].mean()) if count else None,
            }
        )
    return bins


def expected_calibration_error(bins: list[dict]) -> float:
    """ECE from `reliability_bins`: sum over bins of (count / n) * |accuracy - confidence|."""
    total = sum(b["count"] for b in bins)
    return float(
        sum(b["count"] * abs(b["accuracy"] - b["mean_confidence"]) for b in bins if b["count"])
        / total
    )
