"""Explanation figures as PNG bytes (Agg, no pyplot state, as `kser.evaluation.plots`).

- `time_frequency_png`: the model input over time (s) and frequency (Hz, or
  bin names), and the map overlaid on it.
- `values_png`: for utterance functionals, the most attributed named values
  and the attribution summed by representation and by statistic.
- `curves_png`: deletion and insertion curves per method against random order.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from kser.evaluation.plots import _png
from kser.features.naming import bin_frequencies, bin_names
from kser.xai.segments import functional_layout

TOP_VALUES = 20


def time_frequency_png(model_input, attribution, extractor, title: str) -> bytes:
    """Two panels sharing the axes: the (normalized) input, and the map over it."""
    model_input = np.asarray(model_input, dtype=float)
    attribution = np.asarray(attribution, dtype=float)
    if model_input.ndim == 1:
        return _signal_png(model_input, attribution, extractor, title)
    n_bins, n_frames = model_input.shape
    seconds = n_frames * extractor.hop_length / extractor.sample_rate
    extent = (0.0, seconds, -0.5, n_bins - 0.5)
    figure = Figure(figsize=(9, 6.5))
    top, bottom = figure.subplots(2, 1, sharex=True)
    image = top.imshow(
        model_input,
        origin="lower",
        aspect="auto",
        extent=extent,
        cmap="magma",
        interpolation="nearest",
    )
    figure.colorbar(image, ax=top, label="normalized input")
    top.set_title(title)
    bottom.imshow(model_input, origin="lower", aspect="auto", extent=extent, cmap="gray",
                  interpolation="nearest")  # fmt: skip
    limit = float(np.abs(attribution).max()) or 1.0
    signed = attribution.min() < 0
    overlay = bottom.imshow(
        attribution,
        origin="lower",
        aspect="auto",
        extent=extent,
        cmap="RdBu_r" if signed else "inferno",
        vmin=-limit if signed else 0.0,
        vmax=limit,
        alpha=0.6,
        interpolation="nearest",  # one cell per bin and frame; resampling costs seconds
    )
    figure.colorbar(overlay, ax=bottom, label="relevance")
    bottom.set_xlabel("time (s)")
    for axes in (top, bottom):
        _label_bins(axes, extractor, n_bins)
    return _png(figure)


def values_png(attribution, extractor, title: str) -> bytes:
    """The top values by |attribution| (signed bars), and sums by representation and statistic."""
    values = np.asarray(attribution, dtype=float).ravel()
    names = bin_names(extractor)
    layout = functional_layout(extractor)
    top = np.argsort(-np.abs(values), kind="stable")[:TOP_VALUES][::-1]
    by_representation = _group_sums(values, [representation for representation, _ in layout])
    by_statistic = _group_sums(
        values, [statistic if name != "prosody" else "prosodic" for name, statistic in layout]
    )
    figure = Figure(figsize=(12, 7))
    grid = figure.add_gridspec(2, 2, width_ratios=(1.3, 1))
    _bars(figure.add_subplot(grid[:, 0]), [names[i] for i in top], values[top],
          f"top {len(top)} values")  # fmt: skip
    _bars(figure.add_subplot(grid[0, 1]), *by_representation, "by representation")
    _bars(figure.add_subplot(grid[1, 1]), *by_statistic, "by statistic")
    figure.suptitle(title)
    return _png(figure)


def curves_png(curves: dict, title: str) -> bytes:
    """`curves`: `{kind: {method: (fractions, mean probability)}}` for kind deletion, insertion."""
    figure = Figure(figsize=(11, 4.5))
    for axes, (kind, by_method) in zip(figure.subplots(1, len(curves)), curves.items(),
                                       strict=True):  # fmt: skip
        for method, (fractions, probabilities) in by_method.items():
            style = {"color": "black", "linestyle": "--"} if method == "random" else {}
            axes.plot(fractions, probabilities, label=method, **style)
        axes.set_title(f"{kind}: {'removed' if kind == 'deletion' else 'inserted'} first")
        axes.set_xlabel("fraction of input regions")
        axes.set_ylabel("target class probability")
        axes.set_ylim(0, 1)
        axes.legend(fontsize=8)
    figure.suptitle(title)
    return _png(figure)


def _signal_png(model_input, attribution, extractor, title):
    seconds = np.arange(len(model_input)) * extractor.hop_length / extractor.sample_rate
    figure = Figure(figsize=(9, 4))
    top, bottom = figure.subplots(2, 1, sharex=True)
    top.plot(seconds, model_input, linewidth=0.5)
    top.set_title(title)
    top.set_ylabel("input")
    bottom.plot(seconds, attribution, linewidth=0.5, color="crimson")
    bottom.set_ylabel("relevance")
    bottom.set_xlabel("time (s)")
    return _png(figure)


def _label_bins(axes, extractor, n_bins):
    frequencies = bin_frequencies(extractor)
    ticks = np.unique(np.linspace(0, n_bins - 1, min(8, n_bins)).round().astype(int))
    axes.set_yticks(ticks)
    if frequencies is not None and len(frequencies) == n_bins:
        axes.set_yticklabels([f"{frequencies[t]:.0f}" for t in ticks])
        axes.set_ylabel("frequency (Hz)")
    else:
        names = bin_names(extractor)
        axes.set_yticklabels([names[t] if len(names) == n_bins else str(t) for t in ticks],
                             fontsize=7)  # fmt: skip
        axes.set_ylabel("bin")


def _group_sums(values, groups):
    names = list(dict.fromkeys(groups))
    sums = np.array([values[[g == name for g in groups]].sum() for name in names])
    order = np.argsort(np.abs(sums), kind="stable")
    return [names[i] for i in order], sums[order]


def _bars(axes, labels, values, title):
    colours = ["crimson" if v >= 0 else "steelblue" for v in values]
    axes.barh(np.arange(len(values)), values, color=colours)
    axes.set_yticks(np.arange(len(values)))
    axes.set_yticklabels(labels, fontsize=7)
    axes.axvline(0, color="black", linewidth=0.5)
    axes.set_title(title)
    axes.set_xlabel("relevance")
