"""Utterance functionals: statistics of every bin of a frame representation over the clip.

The classic speech-emotion pipeline (openSMILE-style functionals and a linear
classifier) as a kser model input. What makes it work on unseen speakers is
where the normalization happens: the `"speaker"` spec z-scores each functional
over the speaker's own clips, so "this clip's pitch-class spread is high *for
this voice*" is what the classifier sees. A per-speaker z-score of a
functional is unchanged by any per-speaker gain or offset of its bin (mean,
percentiles and spreads all move with it), so no frame-level normalization is
needed first.

The statistics are taken twice: over all frames (pauses and the zero padding
of short clips included, which says how much of the clip is speech) and over
the active frames only (RMS energy at least `active_threshold` times the
clip's loudest frame), which describe the voice itself.

On nEMO (leave-one-speaker-out, logistic regression on the default stack),
per-speaker normalization of the functionals beat global normalization, all
eleven statistics beat the first five, and those of the active frames added
more: hence both sets, by default. The prosodic statistics of
`kser.features.pitch` are appended last (`prosody`): `prosody_fusion` reads
them with an MLP of their own. Figures: docs/results.md.
"""

from __future__ import annotations

import tensorflow as tf

from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError
from kser.features.base import HOP_LENGTH, FeatureExtractor
from kser.features.frame_stats import DEFAULT_ACTIVE_THRESHOLD, Frames, active_frames
from kser.features.stacked import DEFAULT_FEATURES

# Moments below this variance count as constant (a silent or flat bin): skewness 0.
VARIANCE_FLOOR = 1e-12


def _skewness(frames):
    variance = frames.variance()
    third = frames.mean(frames.centred() ** 3)
    flat = variance < VARIANCE_FLOOR
    return tf.where(flat, 0.0, third / tf.maximum(variance, VARIANCE_FLOOR) ** 1.5)


# Each maps `Frames` to `(batch, n_bins)`.
STATISTICS = {
    "mean": lambda frames: frames.mean(),
    "std": lambda frames: frames.std(),
    "p10": lambda frames: frames.percentile(10),
    "p25": lambda frames: frames.percentile(25),
    "median": lambda frames: frames.percentile(50),
    "p75": lambda frames: frames.percentile(75),
    "p90": lambda frames: frames.percentile(90),
    "skewness": _skewness,
    "delta_std": lambda frames: frames.change(1).std(),
    "delta_abs_mean": lambda frames: frames.change(1).abs_mean(),
    "delta2_std": lambda frames: frames.change(2).std(),
}
DEFAULT_STATISTICS = tuple(STATISTICS)


class UtteranceFunctionals(FeatureExtractor):
    """Per-bin statistics over time of a frame representation, as one column.

        kser.features.get("functionals")  # the default stack, all statistics, twice
        kser.features.get("functionals", features=["mel", "rms"], statistics=["mean", "std"],
                          active_threshold=None)  # over all frames only

    Args:
        features: the representations whose bins are summarised: one name or,
            for several stacked bin-wise, a list (default `DEFAULT_FEATURES`,
            the default stack).
        statistics: names from `STATISTICS`, in output order (default: all).
        active_threshold: also take the statistics over the frames whose RMS
            energy is at least this fraction of the clip's loudest frame, and
            append the fraction of such frames; `None` for all frames only.
        prosody: append the 19 pitch and voicing statistics of
            `kser.features.pitch.ProsodyFunctionals` (default parameters), last.
        sample_rate, hop_length: the frame grid of the representation.

    Output: `(batch, n_values, 1)`, statistic-major: the first `n_bins` rows
    are every bin's first statistic over all frames, then the next statistic;
    then the same over active frames and the active fraction, then the
    prosodic values (what `prosody_fusion`'s MLP reads). Normalize with
    `"speaker+global"` (see the module docstring).
    """

    name = "functionals"

    def __init__(
        self,
        *,
        features=DEFAULT_FEATURES,
        statistics=DEFAULT_STATISTICS,
        active_threshold=DEFAULT_ACTIVE_THRESHOLD,
        prosody=True,
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
        if active_threshold is not None and (
            isinstance(active_threshold, bool)
            or not isinstance(active_threshold, (int, float))
            or not 0 < active_threshold < 1
        ):
            raise KserFeatureError(
                "active_threshold must be a fraction in (0, 1) or None. "
                f"Received: active_threshold={active_threshold!r}"
            )
        grid = {"sample_rate": sample_rate, "hop_length": hop_length}
        features = [features] if isinstance(features, str) else list(features)
        # One representation is read directly ([name] too: `params` record it as a list).
        if len(features) == 1:
            self.frames = get(features[0], **grid)
        else:
            self.frames = get("stack", features=features, **grid)
        if not isinstance(prosody, bool):
            raise KserFeatureError(f"prosody must be True or False. Received: prosody={prosody!r}")
        self.energy = get("rms", **grid)
        self.prosody = get("prosody", **grid) if prosody else None
        self.statistics = statistics
        self.active_threshold = active_threshold
        passes = 1 if active_threshold is None else 2
        super().__init__(
            passes * len(statistics) * self.frames.n_bins
            + passes
            - 1
            + (self.prosody.n_bins if prosody else 0),
            features=features,
            statistics=statistics,
            active_threshold=active_threshold,
            prosody=prosody,
            **grid,
        )

    def n_frames(self, n_samples: int) -> int:
        return 1

    def compute(self, waves):
        values = self.frames(waves)
        if values.shape[-1] is not None and values.shape[-1] < 3:
            raise KserFeatureError(
                f"functionals need clips of 3 or more frames. Received: {values.shape[-1]} frames"
            )
        every_frame = tf.ones_like(values[:, :1, :])
        columns = self._statistics(Frames(values, every_frame))
        if self.active_threshold is not None:
            active = active_frames(self.energy(waves), self.active_threshold)
            columns += self._statistics(Frames(values, active))
            columns.append(tf.reduce_mean(active, axis=-1))
        if self.prosody is not None:
            columns.append(self.prosody(waves)[..., 0])
        return tf.concat(columns, axis=1)[..., tf.newaxis]

    def _statistics(self, frames):
        return [STATISTICS[name](frames) for name in self.statistics]

    def value_names(self) -> list[str]:
        """One name per output value, in output order: `"mel 12 p90"`, `"mel 12 p90 (active)"`,
        `"active fraction"`, then the prosodic values (`"pitch range p10 p90"`)."""
        from kser.features.naming import bin_names

        bins = bin_names(self.frames)
        names = [f"{bin_} {statistic}" for statistic in self.statistics for bin_ in bins]
        if self.active_threshold is not None:
            names += [f"{name} (active)" for name in names] + ["active fraction"]
        if self.prosody is not None:
            names += bin_names(self.prosody)
        return names


class MfccFunctionals(UtteranceFunctionals):
    """`UtteranceFunctionals` of the MFCCs alone, without prosody, as an input of its own name.

        kser.features.get("mfcc_functionals")  # (batch, 881, 1)

    Within one speaker, clips in the same emotion lie closer together in these
    881 values than in the default functionals: of each nEMO clip's 10 nearest
    neighbours among its speaker's clips (per-speaker z-scores), 75 % share
    its emotion, against 71 % for the default functionals. Alone they classify
    unseen speakers worse (logistic regression, leave-one-speaker-out UAR
    0.43), so their use is as an ensemble member whose input sharpens the
    ensemble's speaker adaptation (`kser.inference.speaker_adaptation`). The
    name keeps them apart from the default functionals wherever inputs are
    keyed by feature name (ensemble inputs, caches).

    Args: as `UtteranceFunctionals`, with `features="mfcc"` and `prosody=False`
    as defaults.
    """

    name = "mfcc_functionals"

    def __init__(self, *, features="mfcc", prosody=False, **params):
        # `features` and `prosody` are parameters only so that recorded params rebuild it.
        if ([features] if isinstance(features, str) else list(features)) != ["mfcc"] or prosody:
            raise KserFeatureError(
                "mfcc_functionals summarise the MFCCs alone, without prosody; use "
                f"'functionals' for others. Received: features={features!r}, prosody={prosody!r}"
            )
        super().__init__(features=features, prosody=prosody, **params)
