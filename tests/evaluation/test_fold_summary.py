"""`aggregate_folds`: mean ± std over folds and the pooled confusion matrix, by hand."""

import json

import numpy as np
import pytest

from kser.errors import KserEvaluationError
from kser.evaluation import aggregate_folds, evaluate
from tests.evaluation.helpers import probabilities_for

LABELS = ("x", "y")


def _fold(y_true, y_pred):
    return evaluate(y_true, probabilities_for(np.array(y_pred), 2), LABELS, n_bootstrap=0)


@pytest.fixture
def folds():
    # Fold 1: x x y y -> x x x y: recall x 1, y 1/2 -> UAR 3/4, accuracy 3/4.
    # Fold 2: x y y y y y -> y y y y y x: recall x 0, y 4/5 -> UAR 2/5, accuracy 4/6.
    return [_fold([0, 0, 1, 1], [0, 0, 0, 1]), _fold([0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0])]


def test_mean_std_and_pooled_by_hand(folds):
    summary = aggregate_folds(folds, names=["F1", "M1"])
    assert summary["n_folds"] == 2
    assert summary["labels"] == ["x", "y"]
    assert summary["uar"]["values"] == pytest.approx([3 / 4, 2 / 5])
    assert summary["uar"]["mean"] == pytest.approx(23 / 40)
    assert summary["uar"]["std"] == pytest.approx(abs(3 / 4 - 2 / 5) / np.sqrt(2))  # ddof=1
    assert summary["accuracy"]["mean"] == pytest.approx((3 / 4 + 4 / 6) / 2)
    # Pooled: x -> [2 x, 1 y]; y -> [2 x, 5 y]. UAR (2/3 + 5/7) / 2, accuracy 7/10.
    assert summary["pooled_confusion_matrix"] == [[2, 1], [2, 5]]
    assert summary["pooled_uar"] == pytest.approx((2 / 3 + 5 / 7) / 2)
    assert summary["pooled_accuracy"] == pytest.approx(7 / 10)
    assert [fold["name"] for fold in summary["folds"]] == ["F1", "M1"]
    assert summary["folds"][1]["n"] == 6
    assert summary["folds"][1]["uar"] == pytest.approx(2 / 5)
    json.dumps(summary, allow_nan=False)


def test_fold_dicts_read_back_from_json_give_the_same_summary(folds):
    from_json = [json.loads(json.dumps(fold.to_dict())) for fold in folds]
    assert aggregate_folds(from_json) == aggregate_folds(folds)


def test_a_single_fold_has_no_std(folds):
    summary = aggregate_folds(folds[:1])
    assert summary["uar"]["std"] is None
    assert summary["uar"]["mean"] == pytest.approx(3 / 4)
    assert summary["folds"][0]["name"] == "0"


def test_bad_folds_raise(folds):
    with pytest.raises(KserEvaluationError, match="at least one fold"):
        aggregate_folds([])
    with pytest.raises(KserEvaluationError, match="names has 1 entries but there are 2 folds"):
        aggregate_folds(folds, names=["only"])
    other = evaluate([0, 1], [[0.9, 0.1], [0.2, 0.8]], ("x", "z"), n_bootstrap=0)
    with pytest.raises(KserEvaluationError, match="fold 1 has labels"):
        aggregate_folds([folds[0], other])
