"""Regenerate the measured tables of docs/results.md from run directories, so that the
numbers in the documentation come from runs, not from hands.

    python tools/results_tables.py runs/quickstart runs/default-loso         # print them
    python tools/results_tables.py runs/* --write docs/results.md            # update the doc

A run directory is what `kser train` writes (metrics.json and config.json;
the experiment scripts' single runs too) or what `kser cv` writes
(summary.json over fold directories). A directory that is neither stands for
the run directories directly inside it. Each table is one protocol
(leave-one-speaker-out and other folds first: those are the speaker-independent
figures), one row per run: UAR (mean ± std over folds, or with its 95%
bootstrap interval), accuracy, macro-F1, the UAR without speaker adaptation,
per-fold or per-speaker UAR, training minutes, and the `kser` command that
reproduces the run, rebuilt from its config.json.

`--write FILE` replaces only what lies between the two marker lines
(`BEGIN_MARKER`, `END_MARKER`) of FILE, atomically; the rest of the file (the
recorded tables of runs whose directories are gone) is left as it is.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

BEGIN_MARKER = "<!-- results_tables.py: begin (generated, edits here are overwritten) -->"
END_MARKER = "<!-- results_tables.py: end -->"
# Speaker-independent estimates first; `seed` (speaker-dependent) last.
PROTOCOL_TITLES = {
    "loso": "Leave-one-speaker-out (`loso`)",
    "kfold": "Folds (`kfold`)",
    "speaker": "Unseen test speakers (`speaker`)",
    "seed": "Random split, speaker-dependent (`seed`)",
}
HEADERS = (
    "run",
    "model",
    "UAR",
    "accuracy",
    "macro-F1",
    "UAR unadapted",
    "UAR per fold / speaker",
    "training",
    "command",
)


def run_directories(paths) -> list[Path]:
    """`paths`, each a run directory or a folder of them, as run directories in order."""
    from kser.errors import KserError

    found = []
    for path in map(Path, paths):
        if _is_run(path):
            found.append(path)
            continue
        inside = (
            sorted(child for child in path.iterdir() if _is_run(child)) if path.is_dir() else []
        )
        if not inside:
            raise KserError(f"{path}: not a run directory (no metrics.json or summary.json)")
        found += inside
    return found


def _is_run(path: Path) -> bool:
    return (path / "summary.json").is_file() or (path / "metrics.json").is_file()


def kser_command(config: dict, cross_validated: bool) -> str:
    """The `kser train` / `kser cv` command line of a run's config.json, naming only the
    options that differ from their defaults ("" for a run that is not a kser training,
    e.g. an ensemble's)."""
    from kser.training import ExperimentConfig

    known = {field.name for field in dataclasses.fields(ExperimentConfig)}
    if not {"protocol", "feature", "model"} <= set(config) or not set(config) <= known:
        return ""
    # What the command line fills in: the model follows the feature, the epochs the model.
    default = dataclasses.asdict(ExperimentConfig())
    default["model"] = ExperimentConfig(feature=config["feature"]).model
    default["epochs"] = ExperimentConfig(feature=config["feature"], model=config["model"]).epochs
    words = ["kser", "cv" if cross_validated else "train", "--protocol", config["protocol"]]
    for name, value in config.items():
        if name == "protocol" or value == default.get(name):
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            words.append(flag if value else f"--no-{name.replace('_', '-')}")
        elif name in ("feature_params", "model_params"):
            for key, item in value.items():
                words += [flag[:-1], f"{key}={_cli_value(item)}"]
        elif name == "folds":
            for fold in value:
                words += ["--fold", fold]
        elif name == "clip_seconds":
            return ""  # no command-line option: the run came from Python (an experiment script)
        else:
            words += [flag, _cli_value(value)]
    return " ".join(words)


def _cli_value(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    return f"'{text}'" if any(c in text for c in " |;&*") else text


def run_row(directory: Path) -> tuple[str, tuple[str, ...]]:
    """`(protocol, table row)` of one run directory."""
    from kser.training.run_directory import read_json

    config_path = directory / "config.json"
    config = read_json(config_path) if config_path.is_file() else {}
    if (directory / "summary.json").is_file():
        return _cross_validated_row(directory, config)
    metrics = read_json(directory / "metrics.json")
    metadata = metrics.get("metadata", {})
    protocol = config.get("protocol") or metadata.get("protocol") or "other"
    speakers = metrics.get("per_speaker_uar") or {}
    unadapted = metadata.get("uar_without_speaker_adaptation")
    seconds = metadata.get("training_seconds")
    row = (
        directory.name,
        _model(config),
        f"{metrics['uar']:.3f} {_interval(metrics.get('uar_ci'))}".strip(),
        f"{metrics['accuracy']:.3f}",
        f"{metrics['macro_f1']:.3f}",
        "" if unadapted is None else f"{unadapted:.3f}",
        ", ".join(f"{name} {uar:.3f}" for name, uar in speakers.items()),
        _duration(seconds),
        _code(kser_command(config, cross_validated=False)),
    )
    return protocol, row


def _cross_validated_row(directory: Path, config: dict) -> tuple[str, tuple[str, ...]]:
    from kser.training.run_directory import read_run_record

    summary = read_run_record(directory)
    folds = summary["fold_records"]
    unadapted = [f["metadata"].get("uar_without_speaker_adaptation") for f in folds]
    seconds = [f["metadata"].get("training_seconds") for f in folds]
    row = (
        directory.name,
        _model(config),
        _mean_std(summary["uar"]),
        _mean_std(summary["accuracy"]),
        _mean_std(summary["macro_f1"]),
        "" if None in unadapted else f"{sum(unadapted) / len(unadapted):.3f}",
        ", ".join(f"{_fold_name(fold['name'])} {fold['uar']:.3f}" for fold in summary["folds"]),
        "" if None in seconds else _duration(sum(seconds)),
        _code(kser_command(config, cross_validated=True)),
    )
    return summary.get("protocol") or config.get("protocol") or "other", row


def _model(config: dict) -> str:
    """ "model on feature", or the members of an ensemble run."""
    if "members" in config:
        members = ", ".join(_model(member) for member in config["members"])
        return f"ensemble of {members}"
    return f"{config['model']} on {config['feature']}" if "model" in config else ""


def _duration(seconds) -> str:
    if seconds is None:
        return ""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _mean_std(statistic: dict) -> str:
    std = statistic.get("std")
    return f"{statistic['mean']:.3f}" + ("" if std is None else f" ± {std:.3f}")


def _interval(interval) -> str:
    return "" if not interval else f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def _fold_name(name: str) -> str:
    return name.split("-", 1)[1] if name.startswith(("loso-", "kfold-")) else name


def _code(command: str) -> str:
    return f"`{command}`" if command else ""


def results_markdown(paths, command: str) -> str:
    """The generated section: a table per protocol of the runs in `paths`."""
    from kser.evaluation.tables import Table, format_markdown_table

    rows: dict[str, list] = {}
    for directory in run_directories(paths):
        protocol, row = run_row(directory)
        rows.setdefault(protocol, []).append(row)
    order = [p for p in PROTOCOL_TITLES if p in rows] + sorted(set(rows) - set(PROTOCOL_TITLES))
    parts = [f"Generated by `{command}`; each run's own command is in its row."]
    for protocol in order:
        title = PROTOCOL_TITLES.get(protocol, f"Protocol `{protocol}`")
        table = format_markdown_table(Table(title, HEADERS, rows[protocol])).rstrip("\n")
        parts.append(f"#{table}")  # a level below the section's own heading
    return "\n\n".join(parts)


def replace_section(text: str, section: str, where: str = "the file") -> str:
    """`text` with what lies between the markers replaced by `section`."""
    from kser.errors import KserError

    begin, end = text.find(BEGIN_MARKER), text.find(END_MARKER)
    if begin < 0 or end < begin:
        raise KserError(f"{where}: no generated section (lines {BEGIN_MARKER} ... {END_MARKER})")
    return f"{text[: begin + len(BEGIN_MARKER)]}\n\n{section}\n\n{text[end:]}"


def main(argv=None) -> int:
    from kser.errors import KserError
    from kser.paths import atomic_write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run directories, or folders of them")
    parser.add_argument(
        "--write", type=Path, metavar="FILE", help="update FILE's generated section"
    )
    args = parser.parse_args(argv)
    command = " ".join(["python tools/results_tables.py", *args.runs])
    try:
        section = results_markdown(args.runs, command)
        if args.write is None:
            print(section)
            return 0
        if not args.write.is_file():
            raise KserError(f"{args.write}: file not found")
        text = args.write.read_text(encoding="utf-8")
        atomic_write_text(args.write, replace_section(text, section, str(args.write)))
    except KserError as error:
        print(f"results_tables: error: {error}", file=sys.stderr)
        return 2
    print(
        f"{args.write}: generated section rewritten from {len(run_directories(args.runs))} run(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
