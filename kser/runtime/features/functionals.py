"""Utterance functionals and stacks (`kser.features.functionals`, `kser.features.stacked`)
in numpy.

The statistics are float32, as the TensorFlow extractor's, so that the
percentiles' positions and the frame masks round as there.
"""

from __future__ import annotations

import functools

import numpy as np

from kser.runtime.features.base import NumpyExtractor

VARIANCE_FLOOR = np.float32(1e-12)


class Frames:
    """`(batch, n_bins, n_frames)` values with a `(batch, 1, n_frames)` 0/1 mask of the
    frames that count (`kser.features.functionals.Frames`)."""

    def __init__(self, values, mask):
        self.values = values.astype(np.float32)
        self.mask = mask.astype(np.float32)
        self.count = np.maximum(np.sum(self.mask, axis=-1), np.float32(1.0))

    def mean(self, values=None):
        values = self.values if values is None else values
        return np.sum(values * self.mask, axis=-1) / self.count

    def centred(self):
        return self.values - self.mean()[..., None]

    def variance(self):
        return self.mean(np.square(self.centred()))

    def std(self):
        return np.sqrt(self.variance())

    def abs_mean(self):
        return self.mean(np.abs(self.values))

    def change(self, order):
        values, mask = self.values, self.mask
        for _ in range(order):
            values = values[..., 1:] - values[..., :-1]
            mask = mask[..., 1:] * mask[..., :-1]
        return Frames(values, mask)

    @functools.cached_property
    def ordered(self):
        """The values sorted over time, the frames that do not count last."""
        biggest = np.finfo(np.float32).max
        return np.sort(np.where(self.mask > 0, self.values, biggest), axis=-1)

    def percentile(self, q):
        """numpy's "linear" percentile over the frames that count, in float32."""
        position = np.float32(q / 100.0) * (self.count - np.float32(1.0))  # (batch, 1)
        low = np.floor(position)
        weight = position - low
        low = low.astype(np.int64)
        high = np.minimum(low + 1, self.count.astype(np.int64) - 1)
        bins = self.ordered.shape[1]
        lower = np.take_along_axis(self.ordered, np.repeat(low, bins, axis=1)[..., None], -1)
        upper = np.take_along_axis(self.ordered, np.repeat(high, bins, axis=1)[..., None], -1)
        return lower[..., 0] + weight * (upper[..., 0] - lower[..., 0])


def active_frames(energy, threshold):
    """`(batch, 1, n_frames)` 0/1: RMS `energy` at least `threshold` times the loudest frame's."""
    loudest = np.max(energy, axis=-1, keepdims=True)
    return (energy >= np.float32(threshold) * loudest).astype(np.float32)


def _skewness(frames):
    variance = frames.variance()
    third = frames.mean(frames.centred() ** 3)
    skew = third / np.maximum(variance, VARIANCE_FLOOR) ** np.float32(1.5)
    return np.where(variance < VARIANCE_FLOOR, np.float32(0.0), skew)


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


class StackedFeatures(NumpyExtractor):
    name = "stack"

    def __init__(self, node):
        from kser.runtime.features.registry import build

        super().__init__(node)
        self.extractors = [build(part) for part in node.children("extractors")]

    def compute(self, waves):
        return np.concatenate([extractor(waves) for extractor in self.extractors], axis=1)


class UtteranceFunctionals(NumpyExtractor):
    """Per-bin statistics over all frames, then over the active frames and the active
    fraction, then the prosodic values: `(batch, n_values, 1)`."""

    name = "functionals"

    def __init__(self, node):
        from kser.runtime.features.registry import build

        super().__init__(node)
        self.frames = build(node.child("frames"))
        self.energy = build(node.child("energy"))
        self.prosody = build(node.child("prosody")) if self.params["prosody"] else None
        self.statistics = list(self.params["statistics"])
        self.active_threshold = self.params["active_threshold"]

    def compute(self, waves):
        values = self.frames(waves)
        columns = self._statistics(Frames(values, np.ones_like(values[:, :1, :])))
        if self.active_threshold is not None:
            active = active_frames(self.energy(waves), self.active_threshold)
            columns += self._statistics(Frames(values, active))
            columns.append(np.mean(active, axis=-1))
        if self.prosody is not None:
            columns.append(self.prosody(waves)[..., 0])
        return np.concatenate(columns, axis=1)[..., None]

    def _statistics(self, frames):
        return [STATISTICS[name](frames) for name in self.statistics]


class MfccFunctionals(UtteranceFunctionals):
    name = "mfcc_functionals"
