"""Ops that act alike on waveforms `(batch, n_samples)` and features `(batch, n_bins, n_frames)`."""

from __future__ import annotations

import tensorflow as tf

from kser.augment.sampling import check_range, split_seed, uniform


def add_noise(inputs, seed, snr_db=(15.0, 30.0)):
    """White Gaussian noise at a signal-to-noise ratio drawn per example from `snr_db`.

    Args:
        inputs: float32 `(batch, ...)`.
        seed: int64 `[2]` stateless seed.
        snr_db: (low, high) range of the SNR in dB, within [-30, 100].

    The signal power is each example's variance: its mean (a DC offset in a
    waveform, the overall level of a log-spectrogram) carries no signal. The
    noise is scaled by its own realised power, so the SNR holds to rounding,
    not only on average. A constant example gets no noise.
    """
    snr_db = check_range("snr_db", snr_db, -30.0, 100.0)
    noise_seed, snr_seed = tf.unstack(split_seed(seed, 2))
    shape = tf.shape(inputs)
    snr = uniform(snr_seed, shape[0], snr_db)
    noise = tf.random.stateless_normal(shape, noise_seed)
    example_axes = list(range(1, inputs.shape.rank))
    signal_power = tf.math.reduce_variance(inputs, axis=example_axes)
    noise_power = tf.reduce_mean(tf.square(noise), axis=example_axes)
    scale = tf.sqrt(signal_power / (noise_power * 10.0 ** (snr / 10.0)))
    return inputs + noise * per_example(scale, inputs.shape.rank)


def interpolate_last_axis(inputs, positions, fill):
    """Linear interpolation of `inputs` along its last axis at per-example `positions`.

    Args:
        inputs: `(batch, ..., n)`.
        positions: float32 `(batch, m)`, in samples/frames of `inputs`.
        fill: value of positions outside `[0, n - 1]`, broadcastable to the output.

    Returns `(batch, ..., m)`.
    """
    rank = inputs.shape.rank
    last = tf.shape(inputs)[-1]
    lower = tf.floor(positions)
    index = tf.cast(lower, tf.int32)
    left = tf.gather(inputs, tf.clip_by_value(index, 0, last - 1), axis=rank - 1, batch_dims=1)
    right = tf.gather(inputs, tf.clip_by_value(index + 1, 0, last - 1), axis=rank - 1, batch_dims=1)
    fraction = _broadcast_over_middle(positions - lower, rank)
    inside = _broadcast_over_middle(
        (positions >= 0.0) & (positions <= tf.cast(last - 1, tf.float32)), rank
    )
    return tf.where(inside, left + fraction * (right - left), fill)


def per_example(values, rank: int):
    """Reshape `(batch,)` values to broadcast against a rank-`rank` batch."""
    return tf.reshape(values, [-1] + [1] * (rank - 1))


def _broadcast_over_middle(values, rank: int):
    """`(batch, m)` -> `(batch, 1, ..., 1, m)` with rank `rank`."""
    shape = tf.shape(values)
    return tf.reshape(
        values, tf.concat([shape[:1], tf.ones([rank - 2], tf.int32), shape[1:]], axis=0)
    )
