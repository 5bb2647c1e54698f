"""The ensemble's own chart: its learned member weights."""

from __future__ import annotations

import io

from matplotlib.figure import Figure


def weights_png(weights: dict, title: str) -> bytes:
    """Bar chart of the ensemble's member weights (`{member name: weight}`), as PNG bytes."""
    figure = Figure(figsize=(1.2 * len(weights) + 2.5, 3.5))
    axes = figure.add_subplot()
    bars = axes.bar(list(weights), list(weights.values()), color="tab:blue")
    axes.bar_label(bars, fmt="%.3f", fontsize=8)
    axes.set_ylabel("weight")
    axes.set_title(title)
    axes.tick_params(axis="x", labelrotation=20)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()
