"""Per-frame statistics of the waveform: zero-crossing rate and RMS energy; `Frames`,
the masked moments over frames that utterance functionals and pitch statistics share.

Parity with librosa 0.11 (tests/features/test_parity.py): the same frames and
the same arithmetic, so `zcr` matches exactly (counts of sign changes) and
`rms` to float32 rounding (1e-6 absolute).
"""

from __future__ import annotations

import functools

import tensorflow as tf

from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError
from kser.features.base import HOP_LENGTH, WIN_LENGTH, FeatureExtractor, check_positive_int
from kser.features.dsp import frame_sums

# Samples within this distance of zero count as zero (positive), as in librosa.zero_crossings.
ZERO_THRESHOLD = 1e-10
# Frames at least this fraction of the clip's loudest frame's RMS energy are active.
DEFAULT_ACTIVE_THRESHOLD = 0.1


class Frames:
    """`(batch, n_bins, n_frames)` values with a `(batch, 1, n_frames)` 0/1 mask of
    the frames that count, and the weighted moments every statistic needs."""

    def __init__(self, values, mask):
        self.values = values
        self.mask = mask
        self.count = tf.maximum(tf.reduce_sum(mask, axis=-1), 1.0)

    def mean(self, values=None):
        """Mean over the frames that count of `values` (default: the frames' own)."""
        values = self.values if values is None else values
        return tf.reduce_sum(values * self.mask, axis=-1) / self.count

    def centred(self):
        return self.values - self.mean()[..., tf.newaxis]

    def variance(self):
        return self.mean(tf.square(self.centred()))

    def std(self):
        return tf.sqrt(self.variance())

    def abs_mean(self):
        return self.mean(tf.abs(self.values))

    def change(self, order):
        """Frame-to-frame differences of `order` (1 or 2), with the mask of the
        differences whose frames all count."""
        values, mask = self.values, self.mask
        for _ in range(order):
            values = values[..., 1:] - values[..., :-1]
            mask = mask[..., 1:] * mask[..., :-1]
        return Frames(values, mask)

    @functools.cached_property
    def ordered(self):
        """The values sorted over time, the frames that do not count last."""
        return tf.sort(tf.where(self.mask > 0, self.values, self.values.dtype.max), axis=-1)

    def percentile(self, q):
        """numpy's default ("linear") percentile over the frames that count."""
        ordered = self.ordered
        position = q / 100.0 * (self.count - 1.0)  # (batch, 1)
        low = tf.floor(position)
        weight = (position - low)[..., tf.newaxis]
        low = tf.cast(low, tf.int32)[..., tf.newaxis]
        high = tf.minimum(low + 1, tf.cast(self.count, tf.int32)[..., tf.newaxis] - 1)
        bins = tf.shape(ordered)[1]
        lower = tf.gather(ordered, tf.repeat(low, bins, axis=1), axis=-1, batch_dims=2)[..., 0]
        upper = tf.gather(ordered, tf.repeat(high, bins, axis=1), axis=-1, batch_dims=2)[..., 0]
        return lower + weight[..., 0] * (upper - lower)


def active_frames(energy, threshold):
    """`(batch, 1, n_frames)` 0/1: frames whose RMS `energy` is at least
    `threshold` times the clip's loudest frame's."""
    loudest = tf.reduce_max(energy, axis=-1, keepdims=True)
    # `>=`: a silent clip (loudest frame 0) keeps all its frames.
    return tf.cast(energy >= threshold * loudest, energy.dtype)


class ZeroCrossingRate(FeatureExtractor):
    """Fraction of sign changes per frame, as `librosa.feature.zero_crossing_rate`.

    Frames are centred and the clip is padded by repeating its edge samples
    (librosa's `mode="edge"`), so padding adds no crossing.

    Args:
        sample_rate, hop_length: the frame grid (16 kHz, 160).
        frame_length: samples per frame (400 = 25 ms).

    Output: `(batch, 1, n_frames)` in [0, 1).
    """

    name = "zcr"

    def __init__(self, *, sample_rate=SAMPLE_RATE, hop_length=HOP_LENGTH, frame_length=WIN_LENGTH):
        if check_positive_int("frame_length", frame_length) < 2:
            raise KserFeatureError(
                f"frame_length must be at least 2 samples. Received: frame_length={frame_length}"
            )
        super().__init__(
            1, sample_rate=sample_rate, hop_length=hop_length, frame_length=frame_length
        )

    def compute(self, waves):
        frame_length = self.params["frame_length"]
        left = frame_length // 2
        padded = tf.concat(
            [
                tf.repeat(waves[:, :1], left, axis=1),
                waves,
                tf.repeat(waves[:, -1:], frame_length - left, axis=1),
            ],
            axis=1,
        )
        negative = tf.cast(padded < -ZERO_THRESHOLD, tf.float32)
        # changed[:, j]: the sign differs between padded samples j - 1 and j (none before 0).
        changed = tf.pad(tf.abs(negative[:, 1:] - negative[:, :-1]), [[0, 0], [1, 0]])
        # Frame t spans padded samples [t * hop, t * hop + frame_length): its
        # frame_length - 1 neighbour pairs end at t * hop + 1 ... t * hop + frame_length - 1.
        # Counts stay exact in float32 (below 2**24).
        n_frames = 1 + tf.shape(waves)[1] // self.hop_length
        crossings = frame_sums(changed, frame_length, self.hop_length, n_frames)
        crossings -= changed[:, :: self.hop_length][:, :n_frames]
        return (crossings / frame_length)[:, None, :]


class RmsEnergy(FeatureExtractor):
    """Root-mean-square amplitude per frame, as `librosa.feature.rms(y=...)`
    (rectangular frames, zero-padded at the clip edges).

    Args:
        sample_rate, hop_length: the frame grid (16 kHz, 160).
        frame_length: samples per frame (400 = 25 ms).

    Output: `(batch, 1, n_frames)`, linear amplitude.
    """

    name = "rms"

    def __init__(self, *, sample_rate=SAMPLE_RATE, hop_length=HOP_LENGTH, frame_length=WIN_LENGTH):
        super().__init__(
            1,
            sample_rate=sample_rate,
            hop_length=hop_length,
            frame_length=check_positive_int("frame_length", frame_length),
        )

    def compute(self, waves):
        frame_length = self.params["frame_length"]
        left = frame_length // 2
        padded = tf.pad(tf.square(waves), [[0, 0], [left, frame_length - left]])
        n_frames = 1 + tf.shape(waves)[1] // self.hop_length
        energy = frame_sums(padded, frame_length, self.hop_length, n_frames)
        return tf.sqrt(energy / frame_length)[:, None, :]
