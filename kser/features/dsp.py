"""Signal-processing building blocks shared by the extractors, in TensorFlow ops.

Inside these helpers tensors are laid out `(batch, n_frames, n_bins)`, which
suits matrix products with filter banks; extractors transpose to
`(batch, n_bins, n_frames)` once, at the end, with `bins_first`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal
import tensorflow as tf

from kser.errors import KserFeatureError
from kser.features.shared import shared

# librosa's power_to_db floor (amplitude_to_db's 1e-5, squared).
POWER_FLOOR = 1e-10


def centered_frames(waves, frame_length: int, hop_length: int):
    """`(batch, n)` -> `(batch, 1 + n // hop_length, frame_length)`, frame `t` centred
    on sample `t * hop_length`, zeros outside the clip (librosa's `center=True`)."""
    left = frame_length // 2
    # n + frame_length padded samples hold exactly 1 + n // hop_length frames.
    padded = tf.pad(waves, [[0, 0], [left, frame_length - left]], mode="CONSTANT")
    return tf.signal.frame(padded, frame_length, hop_length, axis=-1)


# Above this many blocks per frame, block sums lose to materialised frames.
MAX_BLOCKS_PER_FRAME = 16


def frame_sums(values, frame_length: int, hop_length: int, n_frames):
    """`(batch, n)` -> `(batch, n_frames)`: sums of `values` over the frames
    `[t * hop_length, t * hop_length + frame_length)`; needs
    `n >= (n_frames - 1) * hop_length + frame_length`.

    Frames overlap, so each sample is summed once into blocks of
    `gcd(frame_length, hop_length)` samples, and each frame adds its few blocks
    (5 at 400 / 160): a reshape and strided slices, not copies of every frame.
    """
    block = math.gcd(frame_length, hop_length)
    per_frame, step = frame_length // block, hop_length // block
    if per_frame > MAX_BLOCKS_PER_FRAME:
        frames = tf.signal.frame(values, frame_length, hop_length, axis=-1)
        return tf.reduce_sum(frames[:, :n_frames], axis=-1)
    n_blocks = (n_frames - 1) * step + per_frame
    blocks = tf.reshape(values[:, : n_blocks * block], [tf.shape(values)[0], n_blocks, block])
    blocks = tf.reduce_sum(blocks, axis=-1)
    last = (n_frames - 1) * step
    return tf.add_n([blocks[:, k : k + last + 1 : step] for k in range(per_frame)])


class Stft:
    """Centred, zero-padded STFT, as `librosa.stft(center=True, pad_mode="constant")`.

    The periodic Hann window of `win_length` samples sits in the middle of the
    `n_fft`-sample frame, like librosa's.
    """

    def __init__(self, n_fft: int, win_length: int, hop_length: int):
        if win_length > n_fft:
            raise KserFeatureError(
                f"win_length must not exceed n_fft. "
                f"Received: win_length={win_length}, n_fft={n_fft}"
            )
        self.n_fft = n_fft
        self.win_length = win_length
        self.hop_length = hop_length
        self.n_freqs = n_fft // 2 + 1
        window = np.zeros(n_fft)
        start = (n_fft - win_length) // 2
        window[start : start + win_length] = scipy.signal.get_window("hann", win_length)
        self.window = window

    def __call__(self, waves, dtype=tf.float32) -> tf.Tensor:
        """`(batch, n)` -> complex `(batch, n_frames, n_fft // 2 + 1)`, computed in `dtype`."""
        frames = centered_frames(tf.cast(waves, dtype), self.n_fft, self.hop_length)
        return tf.signal.rfft(frames * tf.constant(self.window, dtype))

    def power(self, waves, dtype=tf.float32) -> tf.Tensor:
        """`(batch, n)` -> `(batch, n_frames, n_fft // 2 + 1)`, once per call for every
        extractor on this grid (`kser.features.shared`)."""
        key = ("stft power", self.n_fft, self.win_length, self.hop_length, tf.as_dtype(dtype).name)
        return shared(key, waves, lambda: squared_magnitude(self(waves, dtype)))


def prefix_sum(values) -> tf.Tensor:
    """`tf.cumsum(values, axis=-1)` for a static last axis, as two small matrix products.

    TensorFlow's CPU scan kernel takes some 20 ns an element; here the axis is
    cut into about sqrt(n) blocks, summed within each block by a product with
    a triangle of ones, and each block's offset is the sum of the totals of the
    blocks before it (a second, smaller product).
    """
    length = values.shape[-1]
    block = math.isqrt(length - 1) + 1 if length > 1 else 1
    n_blocks = -(-length // block)
    padding = [[0, 0]] * (values.shape.rank - 1) + [[0, n_blocks * block - length]]
    blocks = tf.reshape(
        tf.pad(values, padding), tf.concat([tf.shape(values)[:-1], [n_blocks, block]], 0)
    )
    inclusive = tf.constant(np.triu(np.ones((block, block))), values.dtype)
    within = tf.matmul(blocks, inclusive)
    before = tf.constant(np.triu(np.ones((n_blocks, n_blocks)), k=1), values.dtype)
    offsets = tf.matmul(within[..., -1], before)
    sums = tf.reshape(
        within + offsets[..., tf.newaxis], tf.concat([tf.shape(values)[:-1], [-1]], 0)
    )
    return sums[..., :length]


def squared_magnitude(spectrum) -> tf.Tensor:
    # Two passes over the spectrum (product, real part) instead of five; the same floats.
    return tf.math.real(spectrum * tf.math.conj(spectrum))


def power_to_db(power, top_db: float | None = 80.0, floor: float = POWER_FLOOR) -> tf.Tensor:
    """`10 log10(power)` re 1.0, floored at `floor`, then at each clip's maximum
    minus `top_db`: per clip, so a value never depends on the rest of the batch
    (librosa's `power_to_db(ref=1.0)` called on one clip)."""
    db = (10.0 / np.log(10.0)) * tf.math.log(tf.maximum(power, floor))
    if top_db is None:
        return db
    clip_axes = list(range(1, db.shape.rank))
    return tf.maximum(db, tf.reduce_max(db, axis=clip_axes, keepdims=True) - top_db)


def delta(features, width: int = 9) -> tf.Tensor:
    """First-order delta along the last axis, as `librosa.feature.delta(order=1)`.

    Savitzky-Golay slope over `width` frames; the first and last `width // 2`
    frames repeat the nearest full-window slope, which is exactly what
    `mode="interp"` gives for a first-order fit.
    """
    half = width // 2
    n_frames = features.shape[-1]
    if n_frames is not None and n_frames < width:
        raise KserFeatureError(
            f"delta needs at least width={width} frames. Received: n_frames={n_frames}"
        )
    length = tf.shape(features)[-1] - 2 * half
    slope = 0.0
    for offset in range(-half, half + 1):
        if offset:
            window = features[..., half + offset : half + offset + length]
            slope += (offset / (half * (half + 1) * (2 * half + 1) / 3)) * window
    first = tf.repeat(slope[..., :1], half, axis=-1)
    last = tf.repeat(slope[..., -1:], half, axis=-1)
    return tf.concat([first, slope, last], axis=-1)


def normalize(features, axis: int, order: str = "max") -> tf.Tensor:
    """Divide by the max (or sum) of magnitudes along `axis`; all-zero slices stay zero
    (librosa.util.normalize with norm=inf or norm=1)."""
    magnitude = tf.abs(features)
    if order == "max":
        length = tf.reduce_max(magnitude, axis=axis, keepdims=True)
    else:
        length = tf.reduce_sum(magnitude, axis=axis, keepdims=True)
    return tf.math.divide_no_nan(features, length)


def bins_first(features) -> tf.Tensor:
    """`(batch, n_frames, n_bins)` -> `(batch, n_bins, n_frames)`."""
    return tf.transpose(features, [0, 2, 1])
