"""The tables every report shows, built once and rendered as text, Markdown or HTML."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A titled table of preformatted cells; the first column is a row name."""

    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    note: str = ""


def summary_tables(result, *, top_confusions: int) -> list[Table]:
    """Headline metrics, per-class metrics, the worst confusions, and per-group UAR if known."""
    return [
        headline_table(result),
        per_class_table(result),
        confused_pairs_table(result, top_confusions),
        *group_tables(result),
    ]


def headline_table(result) -> Table:
    rows = [
        ("UAR (macro recall)", format_number(result.uar), format_interval(result.uar_ci)),
        ("Accuracy", format_number(result.accuracy), format_interval(result.accuracy_ci)),
        ("Macro F1", format_number(result.macro_f1), ""),
        ("Weighted F1", format_number(result.weighted_f1), ""),
        ("Macro precision", format_number(result.macro_precision), ""),
        ("ECE (calibration)", format_number(result.ece), ""),
        ("Clips", str(result.n), ""),
    ]
    notes = []
    if result.uar_ci is not None:
        notes.append(
            f"95% CI: percentile bootstrap over clips, {result.n_bootstrap} resamples, "
            f"seed {result.seed}."
        )
    if result.absent_classes:
        notes.append(
            "Absent from the test set (recall undefined, excluded from UAR and macro averages): "
            + ", ".join(result.absent_classes)
            + "."
        )
    if result.never_predicted:
        notes.append(
            "Never predicted (precision 0; recall 0 if present): "
            + ", ".join(result.never_predicted)
            + "."
        )
    return Table("Headline metrics", ("metric", "value", "95% CI"), rows, " ".join(notes))


def per_class_table(result) -> Table:
    rows = [
        (
            label,
            format_number(scores["precision"]),
            format_number(scores["recall"]),
            format_number(scores["f1"]),
            str(scores["support"]),
            str(scores["predicted"]),
        )
        for label, scores in result.per_class.items()
    ]
    headers = ("class", "precision", "recall", "F1", "support", "predicted")
    return Table("Per class", headers, rows)


def confused_pairs_table(result, limit: int) -> Table:
    rows = [
        (pair["true"], pair["predicted"], str(pair["count"]), format_number(pair["rate"]))
        for pair in result.most_confused[:limit]
    ]
    note = "" if rows else "No confusions."
    headers = ("true", "predicted as", "clips", "share of true class")
    return Table("Most confused pairs", headers, rows, note)


def group_tables(result) -> list[Table]:
    """UAR per speaker and per gender, for the groupings the result has."""
    groupings = (
        ("UAR per speaker", "speaker", result.per_speaker_uar, result.per_speaker_n),
        ("UAR per gender", "gender", result.per_gender_uar, result.per_gender_n),
    )
    return [
        Table(title, (name, "UAR", "clips"), [(g, format_number(uar[g]), str(n[g])) for g in uar])
        for title, name, uar, n in groupings
        if uar
    ]


def confusion_table(result) -> Table:
    rows = [
        (label, *(str(count) for count in row))
        for label, row in zip(result.labels, result.confusion.tolist(), strict=True)
    ]
    return Table(
        "Confusion matrix (clips; rows: true class)", ("true \\ predicted",) + result.labels, rows
    )


def format_number(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def format_interval(interval) -> str:
    return "" if interval is None else f"[{interval[0]:.4f}, {interval[1]:.4f}]"


def format_text_table(table: Table) -> str:
    """Aligned plain text: row names left-aligned, values right-aligned."""
    cells = [table.headers, *table.rows]
    widths = [max(len(row[c]) for row in cells) for c in range(len(table.headers))]

    def line(row):
        first = row[0].ljust(widths[0])
        return "  ".join(
            [first, *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))]
        ).rstrip()

    lines = [table.title, line(table.headers), "  ".join("-" * w for w in widths)]
    lines += [line(row) for row in table.rows]
    if table.note:
        lines.append(table.note)
    return "\n".join(lines)


def format_markdown_table(table: Table) -> str:
    def line(row):
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"

    alignment = "|" + "|".join([":---", *("---:" for _ in table.headers[1:])]) + "|"
    lines = [f"## {table.title}", "", line(table.headers), alignment]
    lines += [line(row) for row in table.rows]
    if table.note:
        lines += ["", table.note]
    return "\n".join(lines)
