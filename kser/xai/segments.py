"""The regions of a model input that LIME switches off and the deletion curves remove.

A segmentation is an integer array of the input's shape: element `i` belongs
to region `segments[i]` (0 to `n - 1`), each with a readable name.

- Frames `(n_bins, n_frames)`: a grid of time-frequency patches (default 8
  bands by 0.25 s), named `"0.50-0.75 s, 531-1081 Hz"`.
- Utterance functionals `(n_values, 1)`: one region per representation and
  statistic (`"mel p90 (active)"`), each prosodic value its own
  (`"pitch range p10 p90"`): the groups a user reads.
- Anything else (a waveform, prosody alone): equal runs of the values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kser.features.naming import bin_frequencies, bin_names

PATCH_SECONDS = 0.25
PATCH_BANDS = 8
FLAT_REGIONS = 64


@dataclass
class Segmentation:
    """Region id of every input element, and each region's name."""

    segments: np.ndarray
    names: list[str]

    @property
    def n(self) -> int:
        return len(self.names)

    def region_scores(self, attribution: np.ndarray) -> np.ndarray:
        """Sum of `attribution` (the input's shape) over each region: `(n,)`."""
        return np.bincount(self.segments.ravel(), attribution.ravel(), minlength=self.n)

    def mask(self, regions) -> np.ndarray:
        """Boolean mask of the input's shape, True on the listed regions."""
        chosen = np.zeros(self.n, dtype=bool)
        chosen[np.asarray(regions, dtype=int)] = True
        return chosen[self.segments]


def input_segmentation(extractor, input_shape) -> Segmentation:
    """The regions of one model input of `input_shape` made by `extractor`."""
    input_shape = tuple(input_shape)
    if extractor.name in ("functionals", "mfcc_functionals") and input_shape[-1] == 1:
        return _functional_groups(extractor)
    if len(input_shape) == 2 and input_shape[1] > 1:
        return time_frequency_patches(extractor, input_shape)
    return _flat_runs(input_shape)


def time_frequency_patches(
    extractor, input_shape, patch_seconds=PATCH_SECONDS, bands=PATCH_BANDS
) -> Segmentation:
    """A grid of `bands` bin ranges by `patch_seconds` frame ranges over `(n_bins, n_frames)`."""
    n_bins, n_frames = input_shape
    frames_per_second = extractor.sample_rate / extractor.hop_length
    frame_step = max(1, int(round(patch_seconds * frames_per_second)))
    band_edges = np.unique(np.linspace(0, n_bins, min(bands, n_bins) + 1).round().astype(int))
    frame_edges = np.unique(np.r_[np.arange(0, n_frames, frame_step), n_frames])
    band_of_bin = np.searchsorted(band_edges, np.arange(n_bins), side="right") - 1
    patch_of_frame = np.searchsorted(frame_edges, np.arange(n_frames), side="right") - 1
    n_patches = len(frame_edges) - 1
    segments = band_of_bin[:, None] * n_patches + patch_of_frame[None, :]
    labels = _bin_labels(extractor, n_bins)
    names = [
        f"{frame_edges[t] / frames_per_second:.2f}-{frame_edges[t + 1] / frames_per_second:.2f} s, "
        f"{labels[band_edges[b]]}-{labels[band_edges[b + 1] - 1]}"
        for b in range(len(band_edges) - 1)
        for t in range(n_patches)
    ]
    return Segmentation(segments, names)


def functional_layout(extractor) -> list[tuple[str, str]]:
    """`(representation, statistic)` of every value of a functionals extractor, in order;
    the active fraction is `("energy", "active fraction")`, prosodic values `("prosody", name)`."""
    parts = getattr(extractor.frames, "extractors", [extractor.frames])
    per_pass = [
        (part.name, statistic)
        for statistic in extractor.statistics
        for part in parts
        for _ in range(part.n_bins)
    ]
    layout = list(per_pass)
    if extractor.active_threshold is not None:
        layout += [(name, f"{statistic} (active)") for name, statistic in per_pass]
        layout.append(("energy", "active fraction"))
    if extractor.prosody is not None:
        layout += [("prosody", name) for name in bin_names(extractor.prosody)]
    return layout


def _functional_groups(extractor) -> Segmentation:
    layout = functional_layout(extractor)
    group_names = [
        statistic if representation in ("prosody", "energy") else f"{representation} {statistic}"
        for representation, statistic in layout
    ]
    names = list(dict.fromkeys(group_names))
    index = {name: i for i, name in enumerate(names)}
    segments = np.array([index[name] for name in group_names])[:, None]
    return Segmentation(segments, names)


def _flat_runs(input_shape) -> Segmentation:
    size = int(np.prod(input_shape))
    n = min(FLAT_REGIONS, size)
    segments = (np.arange(size) * n // size).reshape(input_shape)
    return Segmentation(
        segments, [f"values {i * size // n}-{(i + 1) * size // n - 1}" for i in range(n)]
    )


def _bin_labels(extractor, n_bins) -> list[str]:
    frequencies = bin_frequencies(extractor)
    if frequencies is not None and len(frequencies) == n_bins:
        return [f"{f:.0f} Hz" for f in frequencies]
    names = bin_names(extractor)
    return names if len(names) == n_bins else [f"bin {i}" for i in range(n_bins)]
