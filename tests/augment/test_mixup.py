"""Mixup: each example is a blend of itself and one partner, with the same blend of labels."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from kser.augment.mixup import mix_batches
from kser.errors import KserFeatureError

N_CLASSES = 4


def _batches(n=24, batch_size=8, seed=0):
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(n, 5, 3)).astype(np.float32)
    labels = (np.arange(n) % N_CLASSES).astype(np.int32)
    return inputs, labels, tf.data.Dataset.from_tensor_slices((inputs, labels)).batch(batch_size)


def _epoch(dataset):
    return list(dataset.as_numpy_iterator())


def _blend_of(mixed, own, candidates):
    """`(j, w)` with `mixed == w * own + (1 - w) * candidates[j]`, or None."""
    for j, partner in enumerate(candidates):
        direction = own - partner
        if not direction.any():
            weight = 1.0
        else:
            weight = float(np.sum((mixed - partner) * direction) / np.sum(direction**2))
        if np.allclose(mixed, weight * own + (1 - weight) * partner, atol=1e-5):
            return j, weight
    return None


def test_each_example_is_the_blend_its_label_states():
    inputs, labels, dataset = _batches()
    mixed = _epoch(mix_batches(dataset, alpha=1.0, num_classes=N_CLASSES, seed=3))
    blended = 0
    for start, (features, soft) in zip(range(0, len(inputs), 8), mixed, strict=True):
        own_inputs, own_labels = inputs[start : start + 8], labels[start : start + 8]
        np.testing.assert_allclose(soft.sum(axis=1), 1.0, rtol=1e-6)
        # The clip keeps the larger share, so the label's argmax is its own class.
        np.testing.assert_array_equal(soft.argmax(axis=1), own_labels)
        for i, label in enumerate(own_labels):
            found = _blend_of(features[i], own_inputs[i], own_inputs)
            assert found, f"example {i} is not a blend of itself and a batch partner"
            partner, weight = found
            assert 0.5 - 1e-5 <= weight <= 1 + 1e-5
            expected = np.zeros(N_CLASSES)
            expected[label] += weight
            expected[own_labels[partner]] += 1 - weight
            np.testing.assert_allclose(soft[i], expected, atol=1e-5)
            blended += weight < 0.99
    assert blended >= 5  # alpha=1 blends for real


def test_small_alpha_blends_little():
    _, _, dataset = _batches(n=400, batch_size=40)
    soft = np.concatenate(
        [s for _, s in _epoch(mix_batches(dataset, alpha=0.1, num_classes=N_CLASSES, seed=0))]
    )
    uniform = np.concatenate(
        [s for _, s in _epoch(mix_batches(dataset, alpha=1.0, num_classes=N_CLASSES, seed=0))]
    )
    assert np.median(soft.max(axis=1)) > 0.95
    assert np.median(uniform.max(axis=1)) < 0.85


def test_seeded_pipelines_repeat_and_epochs_differ():
    _, _, dataset = _batches()
    first = mix_batches(dataset, alpha=0.4, num_classes=N_CLASSES, seed=5)
    again = mix_batches(dataset, alpha=0.4, num_classes=N_CLASSES, seed=5)
    other = mix_batches(dataset, alpha=0.4, num_classes=N_CLASSES, seed=6)
    epoch_one, epoch_two = _epoch(first), _epoch(first)
    for (a, la), (b, lb) in zip(epoch_one, _epoch(again), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(epoch_one[0][0], epoch_two[0][0])
    assert not np.array_equal(epoch_one[0][0], _epoch(other)[0][0])


@pytest.mark.parametrize(
    ("alpha", "num_classes", "message"),
    [(0.0, 4, "alpha must be positive"), (-1.0, 4, "alpha"), (0.2, 1, "2 classes")],
)
def test_bad_arguments_are_refused(alpha, num_classes, message):
    _, _, dataset = _batches()
    with pytest.raises(KserFeatureError, match=message):
        mix_batches(dataset, alpha=alpha, num_classes=num_classes, seed=0)
