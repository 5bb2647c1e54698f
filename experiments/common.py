"""What the experiment scripts share: the command line, the smoke subset, single runs,
and runs of several variants of one configuration with their comparison table.

Every script takes `--data`, `--out`, `--epochs`, `--smoke` (seconds: a tiny
subset, 1 epoch, a narrow model), `--mlflow-uri` and `--no-mlflow`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def small_resnet_mel(**changes):
    """The CPU-sized AudioResNet (width 0.25) on 64-band log-mel, unseen test speakers,
    that the analysis experiments (adversarial, xai) explain and attack; `changes` on top."""
    from kser.training import ExperimentConfig

    return ExperimentConfig(
        protocol="speaker",
        feature="mel",
        feature_params={"n_mels": 64},
        augment="none",
        model="audio_resnet",
        model_params={"width": 0.25},
        **changes,
    )


# --smoke: every speaker (the protocols need 4 or more), 2 clips per emotion each.
SMOKE_CLIPS_PER_SPEAKER_AND_EMOTION = 2


def smoke_subset(corpus, per_group: int = SMOKE_CLIPS_PER_SPEAKER_AND_EMOTION):
    """The first `per_group` clips of every (speaker, emotion) pair, in manifest order."""
    groups = corpus.manifest.groupby(["speaker", "emotion"], sort=False)
    rows = np.sort(np.concatenate([group.index[:per_group] for _, group in groups]))
    return corpus.subset(rows)


def smoke_config(config, **changes):
    """`config` cut down to seconds: 1 epoch of 1 s clips in batches of 16, plus `changes`
    (typically a narrower model)."""
    return dataclasses.replace(config, epochs=1, batch_size=16, clip_seconds=1.0, **changes)


def experiment_parser(doc: str) -> argparse.ArgumentParser:
    """The options every experiment has; scripts add their own to the parser returned."""
    parser = argparse.ArgumentParser(
        description=doc.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="nEMO directory, CSV or Hugging Face dataset")
    parser.add_argument("--out", help="run directory (default: runs/<experiment>-<time>)")
    parser.add_argument("--epochs", type=int, help="most epochs (default: the experiment's)")
    parser.add_argument("--smoke", action="store_true", help="tiny subset, 1 epoch (a test)")
    parser.add_argument("--mlflow-uri", help="MLflow tracking URI (default: sqlite ./mlruns.db)")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    return parser


@dataclass
class ExperimentSetup:
    """The corpus (the smoke subset with --smoke), tracker and run directory of one invocation."""

    corpus: object
    tracker: object
    run_dir: Path
    smoke: bool
    epochs: int | None

    def config(self, config, smoke_config):
        """`smoke_config` with --smoke, else `config`; --epochs overrides either."""
        chosen = smoke_config if self.smoke else config
        return dataclasses.replace(chosen, epochs=self.epochs) if self.epochs else chosen


def prepare(args, name: str) -> ExperimentSetup:
    """Load the corpus and open the tracker that the parsed `args` ask for."""
    from kser.data import load_corpus
    from kser.training import Tracker, default_run_dir

    corpus = load_corpus(args.data)
    if args.smoke:
        corpus = smoke_subset(corpus)
    tracker = None if args.no_mlflow else Tracker(args.mlflow_uri)
    run_dir = Path(args.out or default_run_dir(name))
    return ExperimentSetup(corpus, tracker, run_dir, args.smoke, args.epochs)


def run_single_experiment(name: str, doc: str, config, smoke_config, argv=None) -> int:
    """The whole `main` of a one-configuration experiment: parse, train, report."""
    from kser.training import run_experiment

    setup = prepare(experiment_parser(doc).parse_args(argv), name)
    outcome = run_experiment(
        setup.corpus, setup.config(config, smoke_config), setup.run_dir, tracker=setup.tracker
    )
    print()
    if outcome.evaluation is None:  # a finished run in --out: kept, not retrained
        print(f"complete before, not retrained: test UAR {outcome.splits[0].metrics['uar']:.3f}")
    else:
        print(outcome.evaluation.format_text())
    print()
    print(f"report: {outcome.run_dir / 'report.html'} (also report.md, confusion.png)")
    print(f"model:  {outcome.splits[0].bundle_directory}")
    print(f"time:   {outcome.seconds / 60:.1f} min")
    return 0


def run_variants(setup: ExperimentSetup, configs: dict) -> dict[str, dict]:
    """Run each named configuration into `<run_dir>/<name>/`; return each one's record.

    A single-split run's record is its metrics.json; a multi-fold one's (loso,
    kfold) is its summary.json with the folds' metrics.json records under
    `fold_records`. A variant whose directory already holds a finished run of
    the same configuration is read, not rerun, so an interrupted comparison
    resumes where it stopped (within a variant, finished folds are kept; one
    of another configuration raises `KserError`).
    """
    from kser.training import run_experiment
    from kser.training.cross_validation import check_same_configuration
    from kser.training.run_directory import read_run_record, run_is_complete

    records = {}
    for name, config in configs.items():
        directory = setup.run_dir / name
        check_same_configuration(directory, config)
        if run_is_complete(directory):
            print(f"{name}: finished run in {directory}, not rerun")
        else:
            print(f"{name}: training into {directory}")
            run_experiment(setup.corpus, config, directory, tracker=setup.tracker)
        records[name] = read_run_record(directory)
    return records


def metric_row(name_column: str, name: str, record: dict) -> dict:
    """The comparison-table row of one run's record
    (`kser.training.run_directory.read_run_record`).

    A multi-fold run's scores are means over its folds (each held-out speaker
    weighs the same), with a 95% t-interval over the folds; its best epoch is
    the folds' median and its training time their sum.
    """
    if "fold_records" not in record:
        return {
            name_column: name,
            "uar": record["uar"],
            "uar_ci": record["uar_ci"],
            "accuracy": record["accuracy"],
            "accuracy_ci": record["accuracy_ci"],
            "macro_f1": record["macro_f1"],
            "best_epoch": record["metadata"]["best_epoch"],
            "training_seconds": record["metadata"]["training_seconds"],
        }
    folds = [fold["metadata"] for fold in record["fold_records"]]
    return {
        name_column: name,
        "uar": record["uar"]["mean"],
        "uar_ci": fold_mean_interval(record["uar"]["values"]),
        "accuracy": record["accuracy"]["mean"],
        "accuracy_ci": fold_mean_interval(record["accuracy"]["values"]),
        "macro_f1": record["macro_f1"]["mean"],
        "best_epoch": int(np.median([fold["best_epoch"] for fold in folds])),
        "training_seconds": float(sum(fold["training_seconds"] for fold in folds)),
    }


def fold_mean_interval(values) -> list[float] | None:
    """The 95% t-interval of the mean of per-fold scores (None for a single fold)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return None
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return [float(values.mean() - half), float(values.mean() + half)]


def write_table(run_dir, stem: str, title: str, rows: list[dict], note: str = "") -> str:
    """Write `<stem>.md` and `<stem>.csv` (an interval column `x` becomes `x_low`, `x_high`)
    and `<stem>.json`; return the table as aligned text."""
    from kser.evaluation.tables import Table, format_markdown_table, format_text_table
    from kser.paths import atomic_write_json, atomic_write_text

    run_dir = Path(run_dir)
    columns = list(rows[0])
    table = Table(title, tuple(columns), [tuple(_cell(row[c]) for c in columns) for row in rows])
    markdown = f"{format_markdown_table(table)}\n"
    atomic_write_text(run_dir / f"{stem}.md", markdown + (f"\n{note}\n" if note else ""))
    atomic_write_text(run_dir / f"{stem}.csv", _csv(rows))
    atomic_write_json(run_dir / f"{stem}.json", {"title": title, "rows": rows, "note": note})
    return format_text_table(table)


def _cell(value) -> str:
    from kser.evaluation.tables import format_interval, format_number

    if isinstance(value, (list, tuple)):
        return format_interval(value)
    if value is None or (isinstance(value, float) and abs(value) < 1):
        return format_number(value)  # scores: 4 decimals
    if isinstance(value, float):
        return f"{value:.1f}"  # seconds, milliseconds
    return str(value)


def _csv(rows: list[dict]) -> str:
    flat = []
    for row in rows:
        record = {}
        for key, value in row.items():
            if isinstance(value, (list, tuple)):
                record[f"{key}_low"], record[f"{key}_high"] = value
            else:
                record[key] = value
        flat.append(record)
    buffer = io.StringIO()
    columns = list(dict.fromkeys(key for record in flat for key in record))
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return buffer.getvalue()
