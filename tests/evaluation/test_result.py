"""`evaluate`: the hand example end to end, groups, input errors, the terminal report."""

import json

import numpy as np
import pytest

from kser.errors import KserEvaluationError
from kser.evaluation import evaluate


def _evaluate(example, **kwargs):
    return evaluate(example["y_true"], example["y_prob"], example["labels"], **kwargs)


def test_hand_example_end_to_end(hand_example):
    result = _evaluate(hand_example, n_bootstrap=100)
    np.testing.assert_array_equal(result.y_pred, hand_example["y_pred"])
    assert result.n == 8
    assert result.uar == pytest.approx(7 / 18)
    assert result.accuracy == pytest.approx(3 / 8)
    assert result.macro_f1 == pytest.approx(34 / 105)
    assert result.weighted_f1 == pytest.approx(11 / 35)
    assert result.absent_classes == ("d",)
    assert result.never_predicted == ("c",)
    assert result.per_class["c"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 3,
        "predicted": 0,
    }
    assert result.per_class["d"]["recall"] is None
    assert result.per_class["d"]["f1"] is None
    assert result.per_class["d"]["predicted"] == 1
    assert result.most_confused[0] == {"true": "b", "predicted": "a", "count": 1, "rate": 0.5}


def test_to_dict_is_strict_json_with_the_promised_keys(hand_example):
    record = _evaluate(hand_example, n_bootstrap=50).to_dict()
    text = json.dumps(record, allow_nan=False)  # raises on NaN
    loaded = json.loads(text)
    for key in (
        "uar",
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "labels",
        "confusion_matrix",
        "uar_ci",
        "accuracy_ci",
        "per_class",
        "most_confused",
        "per_speaker_uar",
        "per_gender_uar",
        "ece",
        "n",
    ):
        assert key in loaded
    assert loaded["confusion_matrix"][2] == [1, 1, 0, 1]
    assert loaded["confusion_matrix_normalized"][3] == [None] * 4
    assert loaded["absent_classes"] == ["d"]
    low, high = loaded["uar_ci"]
    assert low <= loaded["uar"] <= high


def test_label_names_give_the_same_result_as_indices(hand_example):
    names = [hand_example["labels"][k] for k in hand_example["y_true"]]
    by_name = evaluate(names, hand_example["y_prob"], hand_example["labels"], n_bootstrap=20)
    by_index = _evaluate(hand_example, n_bootstrap=20)
    assert by_name.to_dict() == by_index.to_dict()


def test_bootstrap_is_seeded_and_optional(hand_example):
    first = _evaluate(hand_example, seed=3, n_bootstrap=100)
    again = _evaluate(hand_example, seed=3, n_bootstrap=100)
    assert first.uar_ci == again.uar_ci
    assert first.accuracy_ci == again.accuracy_ci
    skipped = _evaluate(hand_example, n_bootstrap=0)
    assert skipped.uar_ci is None and skipped.accuracy_ci is None


def test_per_speaker_and_per_gender_uar(hand_example):
    speakers = ["s1", "s1", "s2", "s1", "s2", "s2", "s2", "s1"]
    genders = ["f", "f", "m", "f", "m", "m", "m", None]
    result = _evaluate(hand_example, speakers=speakers, genders=genders, n_bootstrap=0)
    assert result.per_speaker_uar == {"s1": pytest.approx(2 / 3), "s2": 0.0}
    assert result.per_speaker_n == {"s1": 4, "s2": 4}
    # f: a a b, all right -> 1. m: a->b, b->a, c->a, c->b -> 0. unknown: c->d -> 0.
    assert result.per_gender_uar == {"f": 1.0, "m": 0.0, "unknown": 0.0}
    assert result.per_gender_n == {"f": 3, "m": 4, "unknown": 1}


def test_ece_of_constant_confidence(hand_example):
    # Every clip at confidence 0.7, 3 of 8 right: ECE = |3/8 - 0.7|.
    assert _evaluate(hand_example, n_bootstrap=0).ece == pytest.approx(0.7 - 3 / 8)


def test_format_text_shows_headline_table_and_confusions(hand_example):
    result = _evaluate(hand_example, n_bootstrap=100)
    text = result.format_text()
    low, high = result.uar_ci
    assert f"0.3889  [{low:.4f}, {high:.4f}]" in text
    assert "Absent from the test set" in text and ": d." in text
    assert "Never predicted" in text
    per_class_line = next(line for line in text.splitlines() if line.startswith("d "))
    assert per_class_line.split() == ["d", "0.0000", "n/a", "n/a", "0", "1"]
    confusion_lines = text.split("Most confused pairs")[1].splitlines()
    assert confusion_lines[3].split() == ["b", "a", "1", "0.5000"]


@pytest.mark.parametrize(
    "y_true, y_prob, message",
    [
        ([0, 1, 1], [[0.9, 0.1], [0.2, 0.8]], "y_prob has 2 entries but y_true has 3"),
        ([], [], "empty"),
        (np.zeros(0, int), np.zeros((0, 2)), "empty"),
        (["a", "z"], [[0.9, 0.1], [0.2, 0.8]], "labels the model does not know: ['z']"),
        ([0, 2], [[0.9, 0.1], [0.2, 0.8]], "class indices the model does not know: [2]"),
        ([0, -1], [[0.9, 0.1], [0.2, 0.8]], "class indices the model does not know: [-1]"),
        ([0, 1], [[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]], "shape (n, 2)"),
        ([0, 1], [[2.0, -1.0], [0.2, 0.8]], "non-negative"),
        ([0, 1], [[3.0, 1.0], [0.2, 0.8]], "row 0 sums to 4"),
        ([0, 1], [[np.nan, 0.5], [0.2, 0.8]], "finite"),
        ([0.5, 1], [[0.9, 0.1], [0.2, 0.8]], "class indices or label names"),
    ],
)
def test_bad_inputs_raise_clear_errors(y_true, y_prob, message):
    with pytest.raises(KserEvaluationError) as error:
        evaluate(y_true, y_prob, ["a", "b"], n_bootstrap=0)
    assert message in str(error.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"speakers": ["s1"]}, "speakers has 1 entries but y_true has 2"),
        ({"genders": ["f", "m", "f"]}, "genders has 3 entries"),
        ({"clip_ids": ["x"]}, "clip_ids has 1 entries"),
        ({"n_bootstrap": -1}, "n_bootstrap"),
        ({"calibration_bins": 0}, "calibration_bins"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, message):
    with pytest.raises(KserEvaluationError, match=message):
        evaluate([0, 1], [[0.9, 0.1], [0.2, 0.8]], ["a", "b"], **kwargs)


@pytest.mark.parametrize(
    "labels, message", [(["a", "a"], "repeated: \\['a'\\]"), (["a"], "at least 2")]
)
def test_bad_labels_raise_clear_errors(labels, message):
    with pytest.raises(KserEvaluationError, match=message):
        evaluate([0, 0], [[1.0, 0.0], [1.0, 0.0]], labels)
