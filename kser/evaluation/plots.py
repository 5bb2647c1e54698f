"""Report figures as PNG bytes.

Figures are built on `matplotlib.figure.Figure` directly, not pyplot: no global
figure state, no GUI backend, safe to call from any thread or process; PNGs
are rendered by Agg.
"""

from __future__ import annotations

import io
import math

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from kser.errors import KserEvaluationError

_DPI = 100


def confusion_png(result) -> bytes:
    """Heatmap coloured by row-normalised rate, each cell annotated with count and rate."""
    n_classes = len(result.labels)
    rates = result.normalized_confusion
    size = 2.0 + 0.8 * n_classes
    figure = Figure(figsize=(size + 1.0, size))
    axes = figure.add_subplot()
    # Rows of classes absent from the test set are NaN: drawn grey.
    cmap = colormaps["Blues"].with_extremes(bad="lightgrey")
    image = axes.imshow(np.ma.masked_invalid(rates), cmap=cmap, vmin=0.0, vmax=1.0)
    for i in range(n_classes):
        for j in range(n_classes):
            rate = rates[i, j]
            text = (
                f"{result.confusion[i, j]}"
                if np.isnan(rate)
                else f"{result.confusion[i, j]}\n{rate:.0%}"
            )
            colour = "white" if not np.isnan(rate) and rate > 0.5 else "black"
            axes.text(j, i, text, ha="center", va="center", color=colour, fontsize=8)
    axes.set_xticks(range(n_classes), result.labels, rotation=45, ha="right")
    absent = set(result.absent_classes)
    axes.set_yticks(
        range(n_classes),
        [f"{label} (absent)" if label in absent else label for label in result.labels],
    )
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"Confusion (row-normalised), UAR {result.uar:.3f}")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of true class")
    return _png(figure)


def per_class_png(result) -> bytes:
    """Grouped precision / recall / F1 bars per class; absent classes have no recall or F1 bar."""
    n_classes = len(result.labels)
    positions = np.arange(n_classes)
    width = 0.27
    figure = Figure(figsize=(max(5.0, 1.1 * n_classes + 2.0), 4.0))
    axes = figure.add_subplot()
    for offset, (name, values) in zip(
        (-width, 0.0, width),
        (("precision", result.precision), ("recall", result.recall), ("F1", result.f1)),
        strict=True,
    ):
        axes.bar(positions + offset, np.nan_to_num(values, nan=0.0), width, label=name)
    names = [
        f"{label}\n(n={count})" for label, count in zip(result.labels, result.support, strict=True)
    ]
    axes.set_xticks(positions, names)
    axes.axhline(
        result.uar, color="black", linestyle="--", linewidth=1, label=f"UAR {result.uar:.3f}"
    )
    axes.set_ylim(0.0, 1.05)
    axes.set_ylabel("score")
    axes.set_title("Per-class precision, recall and F1")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return _png(figure)


def reliability_png(result) -> bytes:
    """Accuracy against mean confidence per bin, over a histogram of clips per bin."""
    bins = result.reliability
    lowers = np.array([b["lower"] for b in bins])
    widths = np.array([b["upper"] - b["lower"] for b in bins])
    accuracy = np.array([b["accuracy"] if b["count"] else 0.0 for b in bins])
    confidence = np.array([b["mean_confidence"] if b["count"] else 0.0 for b in bins])
    figure = Figure(figsize=(5.0, 6.0))
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.bar(lowers, accuracy, widths, align="edge", edgecolor="black", label="accuracy")
    top.bar(
        lowers,
        confidence - accuracy,
        widths,
        bottom=accuracy,
        align="edge",
        color="red",
        alpha=0.3,
        label="gap to confidence",
    )
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    top.set_ylim(0.0, 1.0)
    top.set_ylabel("accuracy")
    top.set_title(f"Reliability diagram, ECE {result.ece:.3f}")
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(lowers, [b["count"] for b in bins], widths, align="edge", color="grey")
    bottom.set_xlim(0.0, 1.0)
    bottom.set_xlabel("confidence (top class probability)")
    bottom.set_ylabel("clips")
    return _png(figure)


def training_curves_png(history: dict) -> bytes:
    """One panel per metric of a Keras `History.history` dict, train and `val_` curves together."""
    panels: dict[str, dict[str, list]] = {}
    for key, values in history.items():
        values = _check_series(key, values)
        base = key.removeprefix("val_")
        panels.setdefault(base, {})["validation" if key.startswith("val_") else "train"] = values
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(4.0 * columns, 3.0 * rows))
    for index, (name, curves) in enumerate(panels.items()):
        axes = figure.add_subplot(rows, columns, index + 1)
        for split, values in curves.items():
            axes.plot(range(1, len(values) + 1), values, marker=".", label=split)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(fontsize=8)
    return _png(figure)


def _check_series(key, values) -> list[float]:
    try:
        series = [float(value) for value in values]
    except (TypeError, ValueError) as error:
        raise KserEvaluationError(
            f"history[{key!r}] must be a list of numbers, one per epoch. Received: {values!r}"
        ) from error
    if not series:
        raise KserEvaluationError(f"history[{key!r}] is empty: it needs one value per epoch")
    return series


def _png(figure: Figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()
