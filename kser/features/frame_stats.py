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
from kser.features.dsp import frame_sums

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
