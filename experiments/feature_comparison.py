"""AudioResNet on each of the 13 representations: which one carries emotion best?

    python -m experiments.feature_comparison --data /path/to/nemo --out runs/features
    python -m experiments.feature_comparison --features mel,hpss,mfcc     # a subset
    python -m experiments.feature_comparison --protocol seed              # the notebook's split
    python -m experiments.feature_comparison --protocol loso              # every speaker held out
    python -m experiments.feature_comparison --smoke --features mel,zcr   # seconds

The notebook study trained AudioResNet on each representation with a random,
speaker-dependent split (accuracy: HPSS 93.2, mel 88.9, STFT 86.5, CQT 86.4,
MFCC 71.2, ..., delta-tempogram 22.1). This script repeats it with the same
model, seed, split and budget for every feature, under the `speaker`
protocol by default (`--protocol seed` reproduces the notebook's setting).
`--protocol loso` holds out each of the speakers in turn (7 trainings per
feature), so it trains a cheaper model: AudioResNet at width 0.125 for at
most 10 epochs (patience 5) instead of width 0.25 for 20 (patience 10); its
scores are means over the folds with 95% t-intervals over the speakers.
Every feature uses its extractor's default parameters.

Writes into `--out` (default `runs/feature_comparison-<time>`): one run
directory per feature (report, metrics.json, bundle), then
feature_comparison.md/.csv/.json (UAR and accuracy with 95% CIs, macro-F1,
best epoch, training seconds, and the study's accuracy on its random split
next to them; ranked by UAR) and feature_comparison.png (bar
charts of UAR, accuracy and training time). Interrupted? Run the same
command again: finished features are read back, not retrained.
"""

from __future__ import annotations

import dataclasses
import sys

from experiments.common import (
    experiment_parser,
    metric_row,
    prepare,
    run_variants,
    smoke_config,
    write_table,
)
from kser.training import ExperimentConfig

CONFIG = ExperimentConfig(
    protocol="speaker",
    normalization="speaker+global",
    augment="none",
    model="audio_resnet",
    model_params={"width": 0.25},
    epochs=20,
    batch_size=32,
    learning_rate=1e-3,
    patience=10,
)
SMOKE_CONFIG = smoke_config(CONFIG, model_params={"width": 0.125})
# Leave-one-speaker-out trains 7 models per feature: a narrower, shorter budget.
LOSO_CHANGES = {"model_params": {"width": 0.125}, "epochs": 10, "patience": 5}
PROTOCOLS = ("speaker", "seed", "loso")
# The notebook study's test accuracy (%) per representation: AudioResNet, random split.
STUDY_ACCURACY = {
    "hpss": 93.2,
    "mel": 88.9,
    "stft": 86.5,
    "cqt": 86.4,
    "mfcc": 71.2,
    "chroma": 49.5,
    "contrast": 43.0,
    "delta_mfcc": 37.8,
    "tonnetz": 36.6,
    "rms": 34.3,
    "zcr": 27.9,
    "tempogram": 22.7,
    "delta_tempogram": 22.1,
}


def build_parser():
    parser = experiment_parser(__doc__)
    parser.add_argument(
        "--features", help="comma-separated representations (default: all 13, the study's order)"
    )
    parser.add_argument("--protocol", choices=PROTOCOLS, default="speaker", help="default: speaker")
    return parser


def selected_features(text: str | None) -> tuple[str, ...]:
    """The names in `text` (comma-separated), checked; every representation when None."""
    from kser import features
    from kser.errors import KserFeatureError

    if text is None:
        return features.names()
    chosen = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in chosen if name not in features.names()]
    if unknown or not chosen:
        raise KserFeatureError(
            f"--features takes names among {features.names()}. Received: {text!r}"
        )
    return chosen


def comparison_png(rows: list[dict], title: str, n_classes: int) -> bytes:
    """Left: UAR (with 95% CI) and accuracy per feature; right: training time per feature."""
    import io

    import numpy as np
    from matplotlib.figure import Figure

    names = [row["feature"] for row in rows]
    positions = np.arange(len(rows))
    figure = Figure(figsize=(max(8.0, 0.9 * len(rows) + 4.0), 4.5))
    scores, times = figure.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    uar = np.array([row["uar"] for row in rows])
    intervals = [row["uar_ci"] or (value, value) for row, value in zip(rows, uar, strict=True)]
    errors = np.abs(np.array(intervals).T - uar)
    scores.bar(positions - 0.2, uar, 0.4, yerr=errors, capsize=3, label="UAR (95% CI)")
    scores.bar(positions + 0.2, [row["accuracy"] for row in rows], 0.4, label="accuracy")
    chance = f"chance ({n_classes} classes)"
    scores.axhline(1 / n_classes, color="grey", linestyle="--", linewidth=1, label=chance)
    scores.set_xticks(positions, names, rotation=45, ha="right")
    scores.set_ylim(0, 1)
    scores.set_ylabel("test score")
    scores.legend(fontsize=8)
    times.bar(positions, [row["training_seconds"] / 60 for row in rows], color="tab:gray")
    times.set_xticks(positions, names, rotation=45, ha="right")
    times.set_ylabel("training time (min)")
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def main(argv=None) -> int:
    from kser.paths import atomic_write_bytes

    args = build_parser().parse_args(argv)
    names = selected_features(args.features)
    setup = prepare(args, "feature_comparison")
    budget = dataclasses.replace(CONFIG, **LOSO_CHANGES) if args.protocol == "loso" else CONFIG
    base = dataclasses.replace(setup.config(budget, SMOKE_CONFIG), protocol=args.protocol)
    records = run_variants(setup, {name: dataclasses.replace(base, feature=name) for name in names})
    rows = sorted(
        (
            {**metric_row("feature", name, record), "study_accuracy": STUDY_ACCURACY[name] / 100}
            for name, record in records.items()
        ),
        key=lambda row: -row["uar"],
    )
    title = f"AudioResNet per representation ({args.protocol} protocol), ranked by UAR"
    table = write_table(setup.run_dir, "feature_comparison", title, rows)
    chart = comparison_png(rows, title, n_classes=len(setup.corpus.labels))
    atomic_write_bytes(setup.run_dir / "feature_comparison.png", chart)
    print()
    print(table)
    print(f"\ntable: {setup.run_dir / 'feature_comparison.md'} (also .csv, .json, .png)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
