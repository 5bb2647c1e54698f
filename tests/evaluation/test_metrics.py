"""Metrics against a hand-computed example and against scikit-learn.

The hand example (conftest.py), labels a b c d:
    y_true = a a a b b c c c      y_pred = a a b b a a b d
    confusion (rows true): a [2 1 0 0], b [1 1 0 0], c [1 1 0 1], d [0 0 0 0]
    recall    a 2/3, b 1/2, c 0 (present, never predicted), d undefined (absent)
    precision a 2/4, b 1/3, c 0 (never predicted: zero_division=0), d 0/1
    F1        a 4/7, b 2/5, c 0, d undefined
    UAR = (2/3 + 1/2 + 0) / 3 = 7/18   (d excluded: absent from the test set)
    accuracy = 3/8, macro precision = 5/18, macro F1 = 34/105, weighted F1 = 11/35
"""

import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from kser.evaluation import metrics


@pytest.fixture
def confusion(hand_example):
    return metrics.confusion_matrix(hand_example["y_true"], hand_example["y_pred"], 4)


def test_confusion_matrix_by_hand(confusion):
    expected = [[2, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 1], [0, 0, 0, 0]]
    np.testing.assert_array_equal(confusion, expected)


def test_per_class_scores_by_hand(confusion):
    np.testing.assert_allclose(metrics.recall_per_class(confusion), [2 / 3, 1 / 2, 0.0, np.nan])
    np.testing.assert_allclose(metrics.precision_per_class(confusion), [1 / 2, 1 / 3, 0.0, 0.0])
    np.testing.assert_allclose(metrics.f1_per_class(confusion), [4 / 7, 2 / 5, 0.0, np.nan])
    np.testing.assert_array_equal(metrics.support(confusion), [3, 2, 3, 0])


def test_averages_by_hand_are_exact_to_the_last_bit(confusion):
    # Averages are computed on exact fractions and rounded once: equality, not approx.
    assert metrics.accuracy(confusion) == 3 / 8
    assert metrics.unweighted_average_recall(confusion) == 7 / 18
    assert metrics.macro_precision(confusion) == 5 / 18
    assert metrics.macro_f1(confusion) == 34 / 105
    assert metrics.weighted_f1(confusion) == 11 / 35


def test_class_neither_present_nor_predicted_is_silent_and_undefined():
    confusion = np.array([[3, 1, 0], [2, 4, 0], [0, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f1 = metrics.f1_per_class(confusion)
        recall = metrics.recall_per_class(confusion)
        uar = metrics.unweighted_average_recall(confusion)
    assert np.isnan(f1[2]) and np.isnan(recall[2])
    assert uar == 17 / 24  # (3/4 + 4/6) / 2; float arithmetic on the parts would be 1 ulp low
    assert metrics.macro_f1(confusion) == 23 / 33  # (6/9 + 8/11) / 2


def test_uar_excludes_absent_class_but_counts_never_predicted_one(confusion):
    # Counting d as recall 0 would give (2/3 + 1/2 + 0 + 0) / 4 = 7/24; dropping c would give 7/12.
    uar = metrics.unweighted_average_recall(confusion)
    assert uar == pytest.approx(7 / 18)
    assert uar != pytest.approx(7 / 24)
    assert uar != pytest.approx(7 / 12)


def test_row_normalized_by_hand(confusion):
    rates = metrics.row_normalized(confusion)
    np.testing.assert_allclose(rates[0], [2 / 3, 1 / 3, 0, 0])
    np.testing.assert_allclose(rates[2], [1 / 3, 1 / 3, 0, 1 / 3])
    assert np.all(np.isnan(rates[3]))


def test_most_confused_pairs_ranked_by_rate_then_label_order(confusion):
    pairs = metrics.most_confused_pairs(confusion, ("a", "b", "c", "d"))
    assert [(p["true"], p["predicted"]) for p in pairs] == [
        ("b", "a"),  # 1 of 2 b clips
        ("a", "b"),  # the rest are 1 of 3, in label order
        ("c", "a"),
        ("c", "b"),
        ("c", "d"),
    ]
    assert pairs[0]["rate"] == pytest.approx(0.5)
    assert all(p["count"] == 1 for p in pairs)


def test_most_confused_pairs_rank_both_directions_separately():
    confusion = np.array([[5, 4, 1], [1, 9, 0], [0, 2, 8]])
    pairs = metrics.most_confused_pairs(confusion, ("x", "y", "z"))
    ranked = [(p["true"], p["predicted"], p["count"]) for p in pairs]
    assert ranked == [("x", "y", 4), ("z", "y", 2), ("x", "z", 1), ("y", "x", 1)]


def test_uar_by_group_by_hand(hand_example):
    groups = np.array(["s1", "s1", "s2", "s1", "s2", "s2", "s2", "s1"])
    uar, counts = metrics.uar_by_group(
        hand_example["y_true"], hand_example["y_pred"], groups, n_classes=4
    )
    # s1: a a (both right), b (right), c -> d (wrong): recalls a 1, b 1, c 0 -> 2/3.
    # s2: a -> b, b -> a, c -> a, c -> b: recalls a 0, b 0, c 0 -> 0.
    assert uar == {"s1": pytest.approx(2 / 3), "s2": 0.0}
    assert counts == {"s1": 4, "s2": 4}


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n_classes = 6
    y_true = rng.integers(0, n_classes, size=60)
    y_pred = np.where(rng.random(60) < 0.5, y_true, rng.integers(0, n_classes, size=60))
    y_true[y_true == seed % n_classes] = (seed + 1) % n_classes  # one class absent
    y_pred[y_pred == (seed + 2) % n_classes] = (seed + 3) % n_classes  # one class never predicted
    all_labels = list(range(n_classes))
    present = sorted(set(y_true.tolist()))
    confusion = metrics.confusion_matrix(y_true, y_pred, n_classes)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about the absent / never-predicted classes
        np.testing.assert_array_equal(
            confusion, skm.confusion_matrix(y_true, y_pred, labels=all_labels)
        )
        assert metrics.accuracy(confusion) == pytest.approx(skm.accuracy_score(y_true, y_pred))
        assert metrics.unweighted_average_recall(confusion) == pytest.approx(
            skm.balanced_accuracy_score(y_true, y_pred)
        )
        assert metrics.unweighted_average_recall(confusion) == pytest.approx(
            skm.recall_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        )
        precision, recall, f1, support = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=all_labels, zero_division=0
        )
        np.testing.assert_allclose(metrics.precision_per_class(confusion), precision)
        np.testing.assert_array_equal(metrics.support(confusion), support)
        np.testing.assert_allclose(metrics.recall_per_class(confusion)[present], recall[present])
        np.testing.assert_allclose(metrics.f1_per_class(confusion)[present], f1[present])
        assert metrics.macro_f1(confusion) == pytest.approx(
            skm.f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        )
        assert metrics.macro_precision(confusion) == pytest.approx(
            skm.precision_score(y_true, y_pred, labels=present, average="macro", zero_division=0)
        )
        assert metrics.weighted_f1(confusion) == pytest.approx(
            skm.f1_score(y_true, y_pred, labels=all_labels, average="weighted", zero_division=0)
        )
