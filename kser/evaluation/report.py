"""`write_report`: everything a run directory holds about one evaluation.

metrics.json (the machine-readable record), report.md, a self-contained
report.html (PNGs embedded as base64, so it can be mailed or attached as one
file), the PNG figures themselves, and predictions.csv (one row per clip, used
to pair runs in significance tests). Every file is written atomically
(temporary file + `os.replace`), metrics.json last: a run directory with a
metrics.json is a complete one.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kser.errors import KserEvaluationError
from kser.evaluation import plots
from kser.evaluation.result import CONVENTIONS
from kser.evaluation.tables import (
    Table,
    confused_pairs_table,
    confusion_table,
    format_markdown_table,
    group_tables,
    headline_table,
    per_class_table,
)

METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"
_TOP_CONFUSIONS = 10


@dataclass(frozen=True)
class _Figure:
    name: str
    caption: str


def write_report(
    result, run_dir, *, title: str, metadata=None, history=None, clip_ids=None
) -> dict[str, Path]:
    """Write metrics.json, report.md, report.html, the figures and predictions.csv.

    Args:
        result: an `EvaluationResult`.
        run_dir: directory to write into (created if missing).
        title: report title.
        metadata: JSON-serialisable facts about the run (protocol, feature,
            model, seeds, ...), stored in metrics.json and shown in the reports.
        history: a Keras `History.history`-like dict of per-epoch lists; when
            given, training_curves.png is drawn.
        clip_ids: per-clip ids (paths) for predictions.csv; defaults to
            `result.clip_ids`. Without ids the column is left empty, and
            `kser report` will not pair this run with others.

    Returns:
        Paths written, keyed by "metrics", "markdown", "html", "predictions",
        and the figure names "confusion", "per_class", "reliability",
        "training_curves".
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    metadata = _jsonable_metadata(metadata)
    clip_ids = _clip_ids(result, clip_ids)
    # Training curves first, so that a malformed history fails before the other figures are drawn.
    images = {"training_curves": plots.training_curves_png(history)} if history else {}
    images["confusion"] = plots.confusion_png(result)
    images["per_class"] = plots.per_class_png(result)
    images["reliability"] = plots.reliability_png(result)
    blocks = _report_blocks(result, metadata, images)

    written = {name: _write_atomic(run_dir / f"{name}.png", png) for name, png in images.items()}
    written["predictions"] = _write_atomic(
        run_dir / PREDICTIONS_FILE, _predictions_csv(result, clip_ids).encode()
    )
    written["markdown"] = _write_atomic(run_dir / "report.md", _markdown(title, blocks).encode())
    written["html"] = _write_atomic(run_dir / "report.html", _html(title, blocks, images).encode())
    record = {"title": title, "metadata": metadata, **result.to_dict()}
    written["metrics"] = _write_atomic(
        run_dir / METRICS_FILE, (json.dumps(record, indent=2, allow_nan=False) + "\n").encode()
    )
    return written


def _jsonable_metadata(metadata) -> dict:
    """metadata as plain JSON values (numpy scalars and paths converted), or an error naming it."""
    try:
        return json.loads(json.dumps(dict(metadata or {}), default=_to_json, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise KserEvaluationError(f"metadata must be JSON-serialisable: {error}") from error


def _to_json(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-serialisable")


def _clip_ids(result, clip_ids) -> list[str] | None:
    clip_ids = result.clip_ids if clip_ids is None else [str(clip_id) for clip_id in clip_ids]
    if clip_ids is not None and len(clip_ids) != result.n:
        raise KserEvaluationError(
            f"clip_ids has {len(clip_ids)} entries but the result has {result.n} clips"
        )
    return clip_ids


def _predictions_csv(result, clip_ids) -> str:
    """One row per clip: id, true and predicted label, groups if known, every probability."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    groups = {
        name: values
        for name, values in (("speaker", result.speakers), ("gender", result.genders))
        if values is not None
    }
    writer.writerow(
        ["clip_id", "true_label", "predicted_label", *groups]
        + [f"p_{label}" for label in result.labels]
    )
    for i in range(result.n):
        writer.writerow(
            [
                "" if clip_ids is None else clip_ids[i],
                result.labels[result.y_true[i]],
                result.labels[result.y_pred[i]],
                *(values[i] for values in groups.values()),
            ]
            # repr() round-trips a float exactly.
            + [repr(float(p)) for p in result.y_prob[i]]
        )
    return buffer.getvalue()


def _report_blocks(result, metadata: dict, images: dict) -> list:
    """The report's content in order: tables and figures, shared by Markdown and HTML."""
    blocks = []
    if metadata:
        rows = [(key, _format_value(value)) for key, value in metadata.items()]
        blocks.append(Table("Run", ("field", "value"), rows))
    blocks += [
        headline_table(result),
        per_class_table(result),
        _Figure("per_class", "Precision, recall and F1 per class"),
        confusion_table(result),
        _Figure("confusion", "Confusion matrix, coloured by share of the true class"),
        confused_pairs_table(result, _TOP_CONFUSIONS),
        *group_tables(result),
        _Figure("reliability", "Reliability diagram (calibration)"),
    ]
    if "training_curves" in images:
        blocks.append(_Figure("training_curves", "Training curves"))
    return blocks


def _format_value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _markdown(title: str, blocks: list) -> str:
    parts = [f"# {title}"]
    for block in blocks:
        if isinstance(block, Table):
            parts.append(format_markdown_table(block))
        else:
            parts.append(f"![{block.caption}]({block.name}.png)")
    parts.append(f"_{CONVENTIONS}_")
    return "\n\n".join(parts) + "\n"


_STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
.note { color: #555; font-size: 0.9em; }
figure { margin: 1em 0 2em; }
img { max-width: 100%; }
"""


def _html(title: str, blocks: list, images: dict) -> str:
    escape = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
    ]
    for block in blocks:
        if isinstance(block, Table):
            parts.append(_html_table(block))
        else:
            encoded = base64.b64encode(images[block.name]).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{encoded}" alt="{escape(block.caption)}">'
                f"<figcaption>{escape(block.caption)}</figcaption></figure>"
            )
    parts += [f'<p class="note">{escape(CONVENTIONS)}</p>', "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _html_table(table: Table) -> str:
    escape = html.escape
    header = "".join(f"<th>{escape(cell)}</th>" for cell in table.headers)
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in table.rows
    )
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (
        f"<h2>{escape(table.title)}</h2>"
        f"<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>{note}"
    )


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write via a temporary file in the same directory and `os.replace`, so readers
    never see a half-written file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; reports are meant to be shared.
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
