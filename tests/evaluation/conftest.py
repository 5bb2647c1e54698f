"""Fixtures of the evaluation tests: the hand-computed example of tests/evaluation/helpers.py."""

import pytest

from tests.evaluation.helpers import LABELS, Y_PRED, Y_TRUE, probabilities_for


@pytest.fixture(scope="session")
def hand_example():
    return {
        "labels": LABELS,
        "y_true": Y_TRUE.copy(),
        "y_pred": Y_PRED.copy(),
        "y_prob": probabilities_for(Y_PRED, len(LABELS)),
    }
