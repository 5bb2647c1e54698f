"""A small example whose every metric was computed by hand (see test_metrics.py).

The `hand_example` fixture (tests/evaluation/conftest.py) gives it to tests.
"""

import numpy as np

LABELS = ("a", "b", "c", "d")
# Class c is present but never predicted; class d is predicted once but absent from the test set.
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 1, 0, 0, 1, 3])


def probabilities_for(y_pred, n_classes, confidence=0.7):
    """Rows whose argmax is y_pred, with the remaining mass spread evenly."""
    rest = (1.0 - confidence) / (n_classes - 1)
    y_prob = np.full((len(y_pred), n_classes), rest)
    y_prob[np.arange(len(y_pred)), y_pred] = confidence
    return y_prob
