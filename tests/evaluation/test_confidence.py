"""Bootstrap intervals: vectorised resample scores agree with the metrics; intervals behave."""

import numpy as np
import pytest

from kser.evaluation import metrics
from kser.evaluation.confidence import bootstrap_intervals, resampled_scores


def test_resampled_scores_match_metrics_on_each_resample(hand_example):
    y_true, y_pred = hand_example["y_true"], hand_example["y_pred"]
    rng = np.random.default_rng(3)
    indices = rng.integers(0, len(y_true), size=(50, len(y_true)))
    indices[0] = [0, 0, 1, 2, 3, 3, 4, 4]  # a resample without class c
    uar, accuracy = resampled_scores(y_true, y_pred, 4, indices)
    for row, (u, a) in zip(indices, zip(uar, accuracy, strict=True), strict=True):
        confusion = metrics.confusion_matrix(y_true[row], y_pred[row], 4)
        assert u == pytest.approx(metrics.unweighted_average_recall(confusion), abs=1e-12)
        assert a == pytest.approx(metrics.accuracy(confusion), abs=1e-12)
    # Resample 0: clips 0 0 1 2 are a (3 right of 4), 3 3 4 4 are b (2 of 4), no c:
    # UAR (3/4 + 2/4) / 2, averaged over the two classes present.
    assert uar[0] == pytest.approx(5 / 8)


def test_identity_resample_gives_the_point_estimates(hand_example):
    n = len(hand_example["y_true"])
    uar, accuracy = resampled_scores(
        hand_example["y_true"], hand_example["y_pred"], 4, np.arange(n)[None, :]
    )
    assert uar[0] == pytest.approx(7 / 18)
    assert accuracy[0] == pytest.approx(3 / 8)


def _noisy_predictions(n, accuracy, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, n_classes, size=n)
    wrong = (y_true + rng.integers(1, n_classes, size=n)) % n_classes
    y_pred = np.where(rng.random(n) < accuracy, y_true, wrong)
    return y_true, y_pred


def test_intervals_are_seeded():
    y_true, y_pred = _noisy_predictions(200, 0.6)
    first = bootstrap_intervals(y_true, y_pred, 4, n_resamples=200, seed=7)
    again = bootstrap_intervals(y_true, y_pred, 4, n_resamples=200, seed=7)
    other = bootstrap_intervals(y_true, y_pred, 4, n_resamples=200, seed=8)
    assert first == again
    assert first != other


def test_accuracy_interval_width_matches_the_normal_approximation():
    y_true, y_pred = _noisy_predictions(2000, 0.7)
    point = np.mean(y_true == y_pred)
    _, (low, high) = bootstrap_intervals(y_true, y_pred, 4, n_resamples=1000, seed=0)
    expected_width = 2 * 1.959964 * np.sqrt(point * (1 - point) / len(y_true))
    assert low < point < high
    assert high - low == pytest.approx(expected_width, rel=0.15)


def test_uar_interval_contains_point_estimate_and_narrows_with_more_clips():
    widths = []
    for n in (100, 1600):
        y_true, y_pred = _noisy_predictions(n, 0.5)
        point = metrics.unweighted_average_recall(metrics.confusion_matrix(y_true, y_pred, 4))
        (low, high), _ = bootstrap_intervals(y_true, y_pred, 4, n_resamples=500, seed=0)
        assert low <= point <= high
        widths.append(high - low)
    # Width shrinks like 1/sqrt(n): 16 times the clips, about a quarter of the width.
    assert widths[1] / widths[0] == pytest.approx(0.25, rel=0.3)


def test_chunked_resampling_gives_the_same_distribution(monkeypatch):
    import kser.evaluation.confidence as confidence

    y_true, y_pred = _noisy_predictions(300, 0.6)
    whole = bootstrap_intervals(y_true, y_pred, 4, n_resamples=400, seed=1)
    monkeypatch.setattr(confidence, "_INDICES_PER_CHUNK", 300 * 7)  # 7 resamples per chunk
    chunked = bootstrap_intervals(y_true, y_pred, 4, n_resamples=400, seed=1)
    np.testing.assert_allclose(np.ravel(chunked), np.ravel(whole), atol=0.03)
