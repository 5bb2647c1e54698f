"""Stateless random draws for the augmentation ops, and checks of their ranges.

Every draw is a pure function of a `seed` tensor (shape `[2]`, int64, as the
`tf.random.stateless_*` ops take it), so an op gives the same output for the
same input and seed wherever and in whatever order tf.data runs it.
"""

from __future__ import annotations

import tensorflow as tf

from kser.errors import KserFeatureError


def split_seed(seed, count: int):
    """`count` independent seeds derived from `seed`: a `(count, 2)` tensor."""
    return tf.random.experimental.stateless_split(seed, count)


def fold_seed(seed, data):
    """A new seed that depends on `seed` and the integer scalar `data`."""
    return tf.random.experimental.stateless_fold_in(seed, tf.cast(data, tf.int64))


def batch_seed(seed: int, inputs, salt=0):
    """The seed of one batch: `seed`, folded with a fingerprint of `inputs` and `salt`.

    The fingerprint (a 64-bit hash of the batch's bytes) makes the draw a function
    of the batch alone, not of a counter that parallel calls would race on.
    """
    fingerprint = tf.strings.to_hash_bucket_fast(tf.io.serialize_tensor(inputs), 2**63 - 1)
    base = tf.constant([seed, 0], tf.int64)
    return fold_seed(fold_seed(base, fingerprint), salt)


def uniform(seed, batch_size, value_range):
    """One float32 per example, uniform in `[low, high)` (exactly `low` when equal)."""
    low, high = value_range
    return tf.random.stateless_uniform([batch_size], seed, minval=low, maxval=high)


def integers(seed, shape, low, high):
    """int32 draws, uniform in `[low, high]` (both ends included)."""
    return tf.random.stateless_uniform(shape, seed, minval=low, maxval=high + 1, dtype=tf.int32)


def coin(seed, batch_size, probability: float):
    """One bool per example, True with `probability`."""
    return tf.random.stateless_uniform([batch_size], seed) < probability


def check_range(name: str, value_range, lower: float, upper: float):
    """Check that `value_range` is a `(low, high)` pair with `lower <= low <= high <= upper`."""
    try:
        low, high = (float(value) for value in value_range)
    except (TypeError, ValueError):
        raise KserFeatureError(
            f"{name} must be a (low, high) pair of numbers. Received: {name}={value_range!r}"
        ) from None
    if not lower <= low <= high <= upper:
        raise KserFeatureError(
            f"{name} must satisfy {lower:g} <= low <= high <= {upper:g}. "
            f"Received: {name}={value_range!r}"
        )
    return low, high
