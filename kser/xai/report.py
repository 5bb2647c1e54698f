"""Write explanations to a directory: a PNG per clip, input and method, `explanations.json`
and `index.html` showing them.

    DIR/
        explanations.json   per clip: prediction, target, and per method the PNG, the
                            most relevant regions (named) and, for LRP, conservation
        index.html          every clip's figures with its prediction
        <clip>_<method>[_<member>].png
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np

from kser.paths import atomic_write_bytes, atomic_write_json, atomic_write_text
from kser.xai.plots import time_frequency_png, values_png

EXPLANATIONS_FILE = "explanations.json"
HTML_FILE = "index.html"
TOP_REGIONS = 5


def write_explanations(explanations, parts, directory) -> Path:
    """Write `explanations` (from `explain_files`) of a bundle whose inputs are `parts`
    (`ExplainedPart`s, for extractors and segmentations) into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    by_name = {part.name: part for part in parts}
    records = []
    stems = _unique_stems([explanation.path for explanation in explanations])
    for row, (explanation, stem) in enumerate(zip(explanations, stems, strict=True)):
        target = explanation.labels[explanation.target]
        record = {
            "path": explanation.path,
            "emotion": explanation.emotion,
            "probabilities": dict(
                zip(explanation.labels, map(float, explanation.probabilities), strict=True)
            ),
            "target": target,
            "methods": {},
            "skipped": explanation.skipped,
            "seconds_per_method": explanation.seconds,
        }
        for method, maps in explanation.maps.items():
            entries = {}
            for name, attribution in maps.items():
                part = by_name[name]
                suffix = "" if len(parts) == 1 else f"_{name}"
                png = f"{stem}_{method}{suffix}.png"
                title = f"{Path(explanation.path).name}: {method} for {target} ({name})"
                if part.inputs.shape[-1] == 1 and part.extractor.name.endswith("functionals"):
                    figure = values_png(attribution, part.extractor, title)
                else:
                    figure = time_frequency_png(part.inputs[row], attribution, part.extractor,
                                                title)  # fmt: skip
                atomic_write_bytes(directory / png, figure)
                entries[name] = {
                    "png": png,
                    "total": float(attribution.sum()),
                    "top_regions": _top_regions(part.segmentation, attribution),
                    **_conservation_entry(explanation, method, name),
                }
            record["methods"][method] = entries
        records.append(record)
    atomic_write_json(directory / EXPLANATIONS_FILE, records)
    atomic_write_text(directory / HTML_FILE, _html(records))
    return directory


def _top_regions(segmentation, attribution) -> list[dict]:
    scores = segmentation.region_scores(np.asarray(attribution, dtype=float))
    order = np.argsort(-scores, kind="stable")[:TOP_REGIONS]
    return [{"region": segmentation.names[i], "relevance": float(scores[i])} for i in order]


def _conservation_entry(explanation, method, name) -> dict:
    error = explanation.conservation_error.get(f"{method} on {name}")
    return {} if error is None else {"lrp_conservation_error": error}


def _unique_stems(paths) -> list[str]:
    stems, seen = [], {}
    for path in paths:
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem)
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return stems


def _html(records) -> str:
    sections = []
    for record in records:
        probabilities = ", ".join(f"{k} {v:.2f}" for k, v in record["probabilities"].items())
        figures = "".join(
            f'<figure><img src="{html.escape(entry["png"])}" alt="{html.escape(method)}">'
            f"<figcaption>{html.escape(method)} ({html.escape(name)}): most relevant "
            + html.escape("; ".join(r["region"] for r in entry["top_regions"][:3]))
            + "</figcaption></figure>"
            for method, entries in record["methods"].items()
            for name, entry in entries.items()
        )
        skipped = "".join(
            f"<li>{html.escape(what)}: {html.escape(why)}</li>"
            for what, why in record["skipped"].items()
        )
        sections.append(
            f"<section><h2>{html.escape(record['path'])}</h2>"
            f"<p>predicted <b>{html.escape(record['emotion'])}</b> ({html.escape(probabilities)});"
            f" explained: <b>{html.escape(record['target'])}</b></p>{figures}"
            + (f"<p>not run:</p><ul>{skipped}</ul>" if skipped else "")
            + "</section>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>kser explanations</title>"
        "<style>body{font-family:sans-serif;margin:2em}img{max-width:900px}"
        "figure{margin:1em 0}</style></head><body><h1>kser explain</h1>"
        + "".join(sections)
        + "</body></html>\n"
    )
