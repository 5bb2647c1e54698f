"""Per-frame statistics of the waveform: zero-crossing rate and RMS energy.

Parity with librosa 0.11 (tests/features/test_parity.py): the same frames and
the same arithmetic, so `zcr` matches exactly (counts of sign changes) and
`rms` to float32 rounding (1e-6 absolute).
"""

from __future__ import annotations

import tensorflow as tf

from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError
from kser.features.base import HOP_LENGTH, WIN_LENGTH, FeatureExtractor, check_positive_int
from kser.features.dsp import centered_frames

# Samples within this distance of zero count as zero (positive), as in librosa.zero_crossings.
ZERO_THRESHOLD = 1e-10


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
        negative = tf.cast(padded < -ZERO_THRESHOLD, tf.int32)
        # changed[:, j]: the sign differs between padded samples j - 1 and j (none before 0).
        changed = tf.pad(tf.abs(negative[:, 1:] - negative[:, :-1]), [[0, 0], [1, 0]])
        running = tf.cumsum(changed, axis=1)
        # Frame t spans padded samples [t * hop, t * hop + frame_length): its
        # frame_length - 1 neighbour pairs end at t * hop + 1 ... t * hop + frame_length - 1.
        n_frames = 1 + (tf.shape(waves)[1]) // self.hop_length
        ends = running[:, frame_length - 1 :: self.hop_length][:, :n_frames]
        starts = running[:, :: self.hop_length][:, :n_frames]
        return (tf.cast(ends - starts, tf.float32) / frame_length)[:, None, :]


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
        frames = centered_frames(waves, self.params["frame_length"], self.hop_length)
        return tf.sqrt(tf.reduce_mean(tf.square(frames), axis=-1))[:, None, :]
