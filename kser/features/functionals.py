"""Utterance functionals: statistics of every bin of a frame representation over the clip.

The classic speech-emotion pipeline (openSMILE-style functionals and a linear
classifier) as a kser model input. What makes it work on unseen speakers is
where the normalization happens: the `"speaker"` spec z-scores each functional
over the speaker's own clips, so "this clip's pitch-class spread is high *for
this voice*" is what the classifier sees. A per-speaker z-score of a
functional is unchanged by any per-speaker gain or offset of its bin (mean,
percentiles and spreads all move with it), so no frame-level normalization is
needed first.

On nEMO, leave-one-speaker-out with logistic regression on the default stack:
mean/std/p10/p90/delta-std per bin 0.445 UAR with per-speaker normalization of
the functionals (0.333 with global normalization only); adding the median,
quartiles, skewness, mean absolute delta and delta-delta spread 0.482.
"""

from __future__ import annotations

import tensorflow as tf

from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError
from kser.features.base import HOP_LENGTH, FeatureExtractor
from kser.features.stacked import DEFAULT_FEATURES

# Moments below this variance count as constant (a silent or flat bin): skewness 0.
VARIANCE_FLOOR = 1e-12


def _percentile(q):
    """numpy's default ("linear") percentile of the last axis of a sorted tensor."""

    def statistic(frames, ordered, change):
        position = q / 100.0 * (frames.shape[-1] - 1)
        low = int(position)
        high = min(low + 1, frames.shape[-1] - 1)
        weight = position - low
        return ordered[..., low] + weight * (ordered[..., high] - ordered[..., low])

    return statistic


def _skewness(frames, ordered, change):
    centred = frames - tf.reduce_mean(frames, axis=-1, keepdims=True)
    variance = tf.reduce_mean(tf.square(centred), axis=-1)
    third = tf.reduce_mean(centred**3, axis=-1)
    flat = variance < VARIANCE_FLOOR
    return tf.where(flat, 0.0, third / tf.maximum(variance, VARIANCE_FLOOR) ** 1.5)


# Each maps (frames, frames sorted over time, frame-to-frame change), all
# `(batch, n_bins, ...)`, to `(batch, n_bins)`.
STATISTICS = {
    "mean": lambda frames, ordered, change: tf.reduce_mean(frames, axis=-1),
    "std": lambda frames, ordered, change: tf.math.reduce_std(frames, axis=-1),
    "p10": _percentile(10),
    "p25": _percentile(25),
    "median": _percentile(50),
    "p75": _percentile(75),
    "p90": _percentile(90),
    "skewness": _skewness,
    "delta_std": lambda frames, ordered, change: tf.math.reduce_std(change, axis=-1),
    "delta_abs_mean": lambda frames, ordered, change: tf.reduce_mean(tf.abs(change), axis=-1),
    "delta2_std": lambda frames, ordered, change: tf.math.reduce_std(
        change[..., 1:] - change[..., :-1], axis=-1
    ),
}
DEFAULT_STATISTICS = tuple(STATISTICS)


class UtteranceFunctionals(FeatureExtractor):
    """Per-bin statistics over time of a frame representation, as one column.

        kser.features.get("functionals")  # the default stack, all statistics
        kser.features.get("functionals", features=["mel", "rms"], statistics=["mean", "std"])

    Args:
        features: the representations whose bins are summarised: one name or,
            for several stacked bin-wise, a list (default `DEFAULT_FEATURES`,
            the default stack).
        statistics: names from `STATISTICS`, in output order (default: all).
        sample_rate, hop_length: the frame grid of the representation.

    Output: `(batch, len(statistics) * n_bins, 1)`, statistic-major: the first
    `n_bins` rows are every bin's first statistic. Normalize with
    `"speaker+global"` (see the module docstring).
    """

    name = "functionals"

    def __init__(
        self,
        *,
        features=DEFAULT_FEATURES,
        statistics=DEFAULT_STATISTICS,
        sample_rate=SAMPLE_RATE,
        hop_length=HOP_LENGTH,
    ):
        from kser.features.registry import get

        statistics = [statistics] if isinstance(statistics, str) else list(statistics)
        unknown = [name for name in statistics if name not in STATISTICS]
        if not statistics or unknown or len(set(statistics)) != len(statistics):
            raise KserFeatureError(
                f"statistics must list different names among {tuple(STATISTICS)}. "
                f"Received: statistics={statistics!r}"
            )
        if isinstance(features, str):
            frames = get(features, sample_rate=sample_rate, hop_length=hop_length)
            features = [features]
        else:
            features = list(features)
            frames = get("stack", features=features, sample_rate=sample_rate, hop_length=hop_length)
        self.frames = frames
        self.statistics = statistics
        super().__init__(
            len(statistics) * frames.n_bins,
            sample_rate=sample_rate,
            hop_length=hop_length,
            features=features,
            statistics=statistics,
        )

    def n_frames(self, n_samples: int) -> int:
        return 1

    def compute(self, waves):
        frames = self.frames(waves)
        if frames.shape[-1] is not None and frames.shape[-1] < 3:
            raise KserFeatureError(
                f"functionals need clips of 3 or more frames. Received: {frames.shape[-1]} frames"
            )
        ordered = tf.sort(frames, axis=-1)
        change = frames[..., 1:] - frames[..., :-1]
        values = [STATISTICS[name](frames, ordered, change) for name in self.statistics]
        return tf.concat(values, axis=1)[..., tf.newaxis]
