"""Augmentations of feature images `(batch, n_bins, n_frames)`, float32, in TensorFlow ops.

Each op is `op(features, seed, **params) -> features` of the same shape, with
its random draws made per example from the stateless `seed` (int64 `[2]`).
Features reach these ops log-scaled and normalised per clip, so a "neutral"
value is the clip's mean (0 after z-scoring): masks and the ends left empty by
a stretch are filled with each clip's own mean, which stays right whatever
normalisation came before.
"""

from __future__ import annotations

import math

import tensorflow as tf

from kser.augment.sampling import check_range, integers, split_seed, uniform
from kser.augment.shared_ops import interpolate_last_axis, per_example
from kser.errors import KserFeatureError

# Angle per semitone of each tonnetz coordinate pair, in librosa's order:
# fifths (7π/6), minor thirds (3π/2), major thirds (2π/3).
TONNETZ_ANGLES = (7.0 * math.pi / 6.0, 3.0 * math.pi / 2.0, 2.0 * math.pi / 3.0)


def frequency_mask(features, seed, width=(0.0, 0.15), count=2):
    """SpecAugment frequency masking: `count` bands of bins set to the clip's mean.

    Args:
        width: (low, high) band width as a fraction of `n_bins`, within [0, 1];
            each band's width in bins is drawn uniformly from
            `round(low * n_bins) .. round(high * n_bins)`.
        count: bands per example (they may overlap).
    """
    return _mask_bands(features, seed, axis=1, width=width, count=count)


def time_mask(features, seed, width=(0.0, 0.1), count=2):
    """SpecAugment time masking: `count` runs of frames set to the clip's mean.

    Args:
        width: (low, high) run length as a fraction of `n_frames`, within [0, 1].
        count: runs per example (they may overlap).
    """
    return _mask_bands(features, seed, axis=2, width=width, count=count)


def time_shift(features, seed, shift=(-0.1, 0.1)):
    """Circular shift along frames by a fraction of `n_frames` drawn from `shift`.

    Circular, so no frame is lost or invented: the frames pushed off one end
    come back at the other (clips are fixed-length crops with silence padding).

    Args:
        shift: (low, high) shift as a fraction of `n_frames`, within [-1, 1];
            positive moves content later. Rounded to whole frames.
    """
    shift = check_range("shift", shift, -1.0, 1.0)
    batch_size, n_frames = tf.shape(features)[0], tf.shape(features)[2]
    frames = tf.cast(
        tf.round(uniform(seed, batch_size, shift) * tf.cast(n_frames, tf.float32)), tf.int32
    )
    source = tf.math.floormod(tf.range(n_frames)[tf.newaxis, :] - frames[:, tf.newaxis], n_frames)
    return tf.gather(features, source, axis=2, batch_dims=1)


def time_stretch(features, seed, rate=(0.8, 1.25)):
    """Resample the frame axis by a `rate` drawn per example, keeping `n_frames`.

    Output frame `t` reads input frame `t * rate` (linear interpolation): a rate
    above 1 compresses (faster speech) and leaves the end filled with the clip's
    mean; below 1 stretches and crops the end.

    Args:
        rate: (low, high) speed factor, within [0.25, 4].
    """
    rate = check_range("rate", rate, 0.25, 4.0)
    batch_size, n_frames = tf.shape(features)[0], tf.shape(features)[2]
    rates = uniform(seed, batch_size, rate)
    positions = tf.cast(tf.range(n_frames), tf.float32)[tf.newaxis, :] * rates[:, tf.newaxis]
    return interpolate_last_axis(features, positions, _clip_mean(features))


def pitch_class_roll(features, seed, semitones=(-2, 2)):
    """Pitch shift of a chromagram: roll the pitch classes by whole semitones.

    A tone `k` semitones higher has its chroma energy `k` classes up (cyclically),
    so this is exactly the chromagram of the transposed clip.

    Args:
        semitones: (low, high) whole semitones, within [-11, 11], drawn per example.
            `n_bins` must be a multiple of 12 (bins per semitone = n_bins / 12).
    """
    low, high = (round(value) for value in check_range("semitones", semitones, -11, 11))
    n_bins = _static_bins(features, "pitch_class_roll")
    if n_bins % 12:
        raise KserFeatureError(
            f"pitch_class_roll needs a multiple of 12 chroma bins. Received: n_bins={n_bins}"
        )
    steps = integers(seed, [tf.shape(features)[0]], low, high) * (n_bins // 12)
    source = tf.math.floormod(tf.range(n_bins)[tf.newaxis, :] - steps[:, tf.newaxis], n_bins)
    return tf.gather(features, source, axis=1, batch_dims=1)


def tonnetz_rotation(features, seed, semitones=(-2, 2)):
    """Pitch shift of a tonnetz: rotate each coordinate pair by the transposition angle.

    librosa's tonnetz projects chroma class `l` on (sin, cos) of `l * angle` for
    the fifths, minor-thirds and major-thirds circles, so transposing by `k`
    semitones rotates each pair by `k * angle` (`TONNETZ_ANGLES`). Exact on raw
    tonnetz values; after per-clip normalisation it is a close approximation.

    Args:
        semitones: (low, high) whole semitones, within [-11, 11], drawn per example.
    """
    low, high = (round(value) for value in check_range("semitones", semitones, -11, 11))
    if _static_bins(features, "tonnetz_rotation") != 6:
        raise KserFeatureError(
            f"tonnetz_rotation needs the 6 tonnetz dimensions. Received: n_bins={features.shape[1]}"
        )
    steps = tf.cast(integers(seed, [tf.shape(features)[0]], low, high), tf.float32)
    angles = steps[:, tf.newaxis] * tf.constant(TONNETZ_ANGLES)  # (batch, 3)
    cos, sin = tf.cos(angles)[..., tf.newaxis], tf.sin(angles)[..., tf.newaxis]
    sine_part, cosine_part = features[:, 0::2, :], features[:, 1::2, :]
    rotated_sine = sine_part * cos + cosine_part * sin
    rotated_cosine = cosine_part * cos - sine_part * sin
    # Interleave back to (sin, cos) pairs: (batch, 3, 2, frames) -> (batch, 6, frames).
    return tf.reshape(tf.stack([rotated_sine, rotated_cosine], axis=2), tf.shape(features))


def amplitude_modulation(features, seed, depth=(0.0, 0.5), cycles=(0.5, 3.0)):
    """A slow sinusoidal gain envelope over the clip, for energy contours (RMS, ZCR).

    Energy features are in dB, where a gain `g(t)` on the waveform adds
    `20 log10 g(t)`: the envelope is therefore added,
    `depth * sin(2π cycles t / n_frames + phase)`, in the features' (normalised) units,
    with a random phase.

    Args:
        depth: (low, high) envelope amplitude, within [0, 10].
        cycles: (low, high) envelope periods per clip, within [0, 100].
    """
    depth = check_range("depth", depth, 0.0, 10.0)
    cycles = check_range("cycles", cycles, 0.0, 100.0)
    depth_seed, cycles_seed, phase_seed = tf.unstack(split_seed(seed, 3))
    batch_size, n_frames = tf.shape(features)[0], tf.shape(features)[2]
    depths = uniform(depth_seed, batch_size, depth)[:, tf.newaxis]
    periods = uniform(cycles_seed, batch_size, cycles)[:, tf.newaxis]
    phases = uniform(phase_seed, batch_size, (0.0, 2.0 * math.pi))[:, tf.newaxis]
    time = tf.cast(tf.range(n_frames), tf.float32)[tf.newaxis, :] / tf.cast(n_frames, tf.float32)
    envelope = depths * tf.sin(2.0 * math.pi * periods * time + phases)
    return features + envelope[:, tf.newaxis, :]


def _mask_bands(features, seed, axis: int, width, count: int):
    """Set `count` random bands along `axis` (1 = bins, 2 = frames) to the clip's mean."""
    low, high = check_range("width", width, 0.0, 1.0)
    if not isinstance(count, int) or count < 1:
        raise KserFeatureError(f"count must be a positive integer. Received: count={count!r}")
    width_seed, start_seed = tf.unstack(split_seed(seed, 2))
    batch_size, length = tf.shape(features)[0], tf.shape(features)[axis]
    length_float = tf.cast(length, tf.float32)
    widths = integers(
        width_seed,
        [batch_size, count],
        tf.cast(tf.round(low * length_float), tf.int32),
        tf.cast(tf.round(high * length_float), tf.int32),
    )
    room = tf.cast(length - widths + 1, tf.float32)
    starts = tf.cast(tf.random.stateless_uniform([batch_size, count], start_seed) * room, tf.int32)
    index = tf.range(length)[tf.newaxis, tf.newaxis, :]
    in_band = (index >= starts[..., tf.newaxis]) & (index < (starts + widths)[..., tf.newaxis])
    masked = tf.reduce_any(in_band, axis=1)  # (batch, length)
    masked = masked[:, :, tf.newaxis] if axis == 1 else masked[:, tf.newaxis, :]
    return tf.where(masked, _clip_mean(features), features)


def _clip_mean(features):
    return per_example(tf.reduce_mean(features, axis=[1, 2]), 3)


def _static_bins(features, op_name: str) -> int:
    n_bins = features.shape[1]
    if n_bins is None:
        raise KserFeatureError(
            f"{op_name} needs a known number of bins. Received: shape={features.shape}"
        )
    return n_bins
