"""ECE and reliability bins against hand-computed values and a plain loop."""

import numpy as np
import pytest

from kser.evaluation.calibration import expected_calibration_error, reliability_bins


def test_ece_by_hand():
    # Confidence 0.85: one right, one wrong -> |0.5 - 0.85| = 0.35 over half the clips.
    # Confidence 0.55: both right -> |1 - 0.55| = 0.45 over half the clips. ECE = 0.4.
    y_prob = np.array([[0.85, 0.15], [0.85, 0.15], [0.55, 0.45], [0.45, 0.55]])
    y_true = np.array([0, 1, 0, 1])
    bins = reliability_bins(y_true, y_prob, n_bins=10)
    assert expected_calibration_error(bins) == pytest.approx(0.4)
    assert [b["count"] for b in bins] == [0, 0, 0, 0, 0, 2, 0, 0, 2, 0]
    assert bins[8]["accuracy"] == pytest.approx(0.5)
    assert bins[8]["mean_confidence"] == pytest.approx(0.85)
    assert bins[0]["accuracy"] is None


def test_perfectly_calibrated_predictions_have_zero_ece():
    y_prob = np.tile([0.75, 0.25], (4, 1))
    y_true = np.array([0, 0, 0, 1])  # right 3 times in 4 at confidence 0.75
    assert expected_calibration_error(reliability_bins(y_true, y_prob, 15)) == pytest.approx(0.0)


def test_bin_edges_are_closed_on_the_right():
    y_prob = np.array([[0.5, 0.5], [1.0, 0.0], [0.6, 0.4]])
    bins = reliability_bins(np.array([0, 0, 0]), y_prob, n_bins=10)
    counts = [b["count"] for b in bins]
    assert counts[4] == 1  # 0.5 is in (0.4, 0.5]
    assert counts[5] == 1  # 0.6 is in (0.5, 0.6]
    assert counts[9] == 1  # 1.0 is in (0.9, 1.0]


def test_ece_matches_a_plain_loop():
    rng = np.random.default_rng(0)
    y_prob = rng.dirichlet(np.full(6, 0.5), size=500)
    y_true = rng.integers(0, 6, size=500)
    confidence, correct = y_prob.max(axis=1), y_prob.argmax(axis=1) == y_true
    edges = np.linspace(0, 1, 16)
    expected = 0.0
    for lower, upper in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (confidence > lower) & (confidence <= upper)
        if in_bin.any():
            gap = abs(correct[in_bin].mean() - confidence[in_bin].mean())
            expected += in_bin.mean() * gap
    bins = reliability_bins(y_true, y_prob, 15)
    assert sum(b["count"] for b in bins) == 500
    assert expected_calibration_error(bins) == pytest.approx(expected, abs=1e-12)


def _underconfident(n=600, classes=4, accuracy=0.8, confidence=0.45, seed=0):
    """Probabilities right `accuracy` of the time whose top class holds only `confidence`."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    predicted = np.where(rng.random(n) < accuracy, labels, (labels + 1) % classes)
    probabilities = np.full((n, classes), (1 - confidence) / (classes - 1))
    probabilities[np.arange(n), predicted] = confidence
    return probabilities, labels


def test_a_calibrating_temperature_sharpens_underconfident_predictions():
    from kser.evaluation.calibration import calibrating_temperature

    probabilities, labels = _underconfident()
    temperature = calibrating_temperature(probabilities, labels)
    assert temperature is not None and temperature < 1.0
    sharpened = probabilities ** (1 / temperature)
    sharpened /= sharpened.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(sharpened.argmax(1), probabilities.argmax(1))
    # Now the top class holds about as much as the accuracy.
    assert sharpened.max(axis=1).mean() == pytest.approx(0.8, abs=0.03)


def test_predictions_that_do_not_pin_a_temperature_down_get_none():
    from kser.evaluation.calibration import calibrating_temperature

    all_right, labels = _underconfident(accuracy=1.0)
    assert calibrating_temperature(all_right, labels) is None  # the sharper the better
    chance, labels = _underconfident(accuracy=0.25)
    assert calibrating_temperature(chance, labels) is None  # the flatter the better
