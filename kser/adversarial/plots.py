"""Figures of an attack sweep as PNG bytes (matplotlib `Figure`, no pyplot state)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from kser.evaluation.plots import _png


def curves_png(summary: dict) -> bytes:
    """UAR and accuracy against eps (log axis) per method, and each method's per-class recall.

    `summary`: `kser.adversarial.report.sweep_summary`'s dict.
    """
    methods = list(dict.fromkeys(point["method"] for point in summary["attacks"]))
    clean = summary["clean"]
    figure = Figure(figsize=(5.0 * (1 + len(methods)), 4.2))
    scores = figure.add_subplot(1, 1 + len(methods), 1)
    for method in methods:
        points, eps = _attacked(summary, method)
        scores.plot(eps, [p["uar"] for p in points], "o-", label=f"{method} UAR")
        scores.plot(eps, [p["accuracy"] for p in points], "s--", label=f"{method} accuracy")
    scores.axhline(clean["uar"], color="black", linewidth=1, label=f"clean UAR {clean['uar']:.3f}")
    scores.axhline(clean["uar"] / 2, color="grey", linestyle=":", label="half the clean UAR")
    scores.axhline(1 / len(clean["per_class_recall"]), color="red", linestyle=":", label="chance")
    scores.set_xscale("log")
    scores.set_xlabel(f"eps ({summary['eps_units']})")
    scores.set_ylabel("score")
    scores.set_ylim(0, 1)
    scores.set_title(f"{summary['domain']} attack on {summary['n_clips']} clips")
    scores.legend(fontsize=7)
    for k, method in enumerate(methods, start=2):
        axes = figure.add_subplot(1, 1 + len(methods), k)
        points, eps = _attacked(summary, method)
        for label, recall in clean["per_class_recall"].items():
            line = axes.plot(eps, [p["per_class_recall"][label] for p in points], "o-", label=label)
            axes.axhline(recall, color=line[0].get_color(), linewidth=0.8, linestyle=":")
        axes.set_xscale("log")
        axes.set_xlabel(f"eps ({summary['eps_units']})")
        axes.set_ylabel("recall")
        axes.set_ylim(0, 1)
        axes.set_title(f"{method}: recall per class (dotted: clean)")
        axes.legend(fontsize=7)
    return _png(figure)


def _attacked(summary: dict, method: str):
    """`method`'s attacked points (eps > 0) of a sweep summary, and their eps."""
    points = [p for p in summary["attacks"] if p["method"] == method and p["eps"] > 0]
    return points, [p["eps"] for p in points]


def perturbation_png(clean: np.ndarray, adversarial: np.ndarray, names, title: str) -> bytes:
    """One row per clip: clean and adversarial model inputs `(n_bins, n_frames)` and their
    difference (diverging colours, symmetric around 0)."""
    figure = Figure(figsize=(13.0, 2.6 * len(names) + 0.6))
    for row, name in enumerate(names):
        limit = float(np.max(np.abs(adversarial[row] - clean[row]))) or 1.0
        low = float(min(clean[row].min(), adversarial[row].min()))
        high = float(max(clean[row].max(), adversarial[row].max()))
        panels = (
            ("clean", clean[row], "magma", low, high),
            ("adversarial", adversarial[row], "magma", low, high),
            ("perturbation", adversarial[row] - clean[row], "RdBu_r", -limit, limit),
        )
        for column, (heading, image, colours, vmin, vmax) in enumerate(panels):
            axes = figure.add_subplot(len(names), 3, 3 * row + column + 1)
            shown = axes.imshow(
                np.atleast_2d(image), origin="lower", aspect="auto", cmap=colours, vmin=vmin,
                vmax=vmax,
            )  # fmt: skip
            axes.set_title(f"{name}: {heading}", fontsize=8)
            axes.set_xlabel("frame", fontsize=7)
            axes.set_ylabel("bin", fontsize=7)
            figure.colorbar(shown, ax=axes, fraction=0.046, pad=0.02)
    figure.suptitle(title, fontsize=9)
    return _png(figure)
