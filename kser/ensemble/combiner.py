"""Learning the combiner from the members' out-of-fold logits: weights by gradient,
temperature by NLL (`kser.evaluation.calibration.fit_temperature`, re-exported here).

Inputs are out-of-fold logits `(n_clips, n_members, n_classes)` (see
`OutOfFoldPredictions.member_logits`). The combiner has only K weights, so it is
fitted on full batches, fast, and deterministically.
"""

from __future__ import annotations

import keras
import numpy as np

from kser.evaluation.calibration import fit_temperature, negative_log_likelihood
from kser.evaluation.metrics import confusion_matrix, unweighted_average_recall
from kser.models.weighted_ensemble import WeightedLogits


class _RepeatedBatch(keras.utils.PyDataset):
    """The same full batch `steps` times: one epoch of `steps` steps (Keras' per-epoch
    overhead is far larger than one step on a few thousand rows)."""

    def __init__(self, x, y, sample_weight, steps):
        super().__init__()
        self.batch = (x, y, sample_weight)
        self.steps = steps

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        return self.batch


def balanced_sample_weights(labels) -> np.ndarray:
    """Per-row weights inversely proportional to class frequency: the loss then tracks UAR."""
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    weights = len(labels) / (len(classes) * counts)
    return weights[np.searchsorted(classes, labels)].astype(np.float32)


def fit_combiner(
    logits,
    labels,
    *,
    normalization: str = "softmax",
    l1: float = 0.0,
    learning_rate: float = 0.05,
    steps: int = 200,
) -> WeightedLogits:
    """A `WeightedLogits` layer whose weights minimise class-balanced cross-entropy.

    Args:
        logits: member logits `(n, n_members, n_classes)`.
        labels: class indices `(n,)`.
        normalization, l1: see `WeightedLogits`.
        learning_rate: Adam's step size.
        steps: full-batch optimisation steps.
    """
    logits = np.asarray(logits, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int32)
    combiner = WeightedLogits(logits.shape[1], normalization, l1, name="combiner")
    inputs = keras.Input(shape=logits.shape[1:], name="member_logits")
    model = keras.Model(inputs, combiner(inputs), name="combiner_fit")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(
        _RepeatedBatch(logits, labels, balanced_sample_weights(labels), steps),
        epochs=1,
        verbose=0,
    )
    return combiner


def combined_logits(combiner: WeightedLogits, logits) -> np.ndarray:
    """The combiner's output `(n, n_classes)` for member logits `(n, n_members, n_classes)`."""
    return keras.ops.convert_to_numpy(combiner(np.asarray(logits, dtype=np.float32)))


def cross_fitted_logits(member_logits, labels, **fit_arguments) -> np.ndarray:
    """Combined logits of every row, each from a combiner fitted on the other folds' rows.

    `member_logits`: `MemberLogits`; `labels`: class indices of `member_logits.rows`.
    Out of fold twice over: the members never trained on a row, and neither
    did the combiner that scores it.
    """
    labels = np.asarray(labels)
    combined = np.empty((len(labels), member_logits.logits.shape[2]), dtype=np.float32)
    for fold in np.unique(member_logits.folds):
        held_out = member_logits.folds == fold
        combiner = fit_combiner(member_logits.logits[~held_out], labels[~held_out], **fit_arguments)
        combined[held_out] = combined_logits(combiner, member_logits.logits[held_out])
    return combined


def uar_of_logits(logits, labels) -> float:
    logits = np.asarray(logits)
    confusion = confusion_matrix(np.asarray(labels), logits.argmax(axis=1), logits.shape[1])
    return unweighted_average_recall(confusion)


__all__ = [
    "balanced_sample_weights",
    "combined_logits",
    "cross_fitted_logits",
    "fit_combiner",
    "fit_temperature",
    "negative_log_likelihood",
    "uar_of_logits",
]
