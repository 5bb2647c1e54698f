"""Calibration: do the model's confidences match how often it is right?

Confidence is the top class probability. Clips are put in equal-width bins
`(lower, upper]` of confidence (the first bin also takes confidence 0). The
expected calibration error (ECE, Guo et al. 2017) is the clip-weighted mean
gap between accuracy and mean confidence over the bins. `fit_temperature` is
Guo et al.'s temperature scaling: one scalar, fitted by NLL on held-out
predictions, that fixes over- or under-confidence without touching the argmax.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

# Temperatures searched by `fit_temperature`; far beyond what a trained network needs.
TEMPERATURE_RANGE = (0.05, 20.0)


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


def negative_log_likelihood(logits, labels, temperature: float = 1.0) -> float:
    """Mean cross-entropy of `softmax(logits / temperature)` against `labels`."""
    log_probabilities = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    return float(-log_probabilities[np.arange(len(labels)), np.asarray(labels)].mean())


def fit_temperature(logits, labels) -> float:
    """The temperature minimising the NLL of `logits` (Guo et al. 2017's temperature scaling).

    One scalar cannot change which class is largest, so this improves
    calibration without touching accuracy or UAR. Fit it on held-out logits.
    """
    low, high = np.log(TEMPERATURE_RANGE)
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, labels, float(np.exp(log_t))),
        bounds=(low, high),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(np.exp(result.x))


def tempered(probabilities, temperature: float) -> np.ndarray:
    """`probabilities ** (1 / temperature)`, each row renormalised (its argmax kept)."""
    return np.exp(log_softmax(_log(probabilities) / temperature, axis=1))


def calibrating_temperature(probabilities, labels) -> float | None:
    """The temperature that calibrates `probabilities` (see `tempered`) on these
    held-out `labels`, or None when they do not pin one down: a fit at the end
    of `TEMPERATURE_RANGE` (no mistake among them: the sharper the better; no
    signal: the flatter the better)."""
    temperature = fit_temperature(_log(probabilities), labels)
    if np.isclose(temperature, TEMPERATURE_RANGE, rtol=1e-3).any():
        return None
    return temperature


def _log(probabilities) -> np.ndarray:
    # Probabilities as logits; a zero (underflow) becomes a very negative logit, not -inf.
    return np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), 1e-300))
