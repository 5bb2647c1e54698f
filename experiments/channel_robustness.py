"""How much UAR survives a telephone line, noise or a reverberant room? LOSO bundles under channels.

    python -m experiments.channel_robustness --data /path/to/nemo \
        --runs /tmp/lead/cps/default=default --out runs/channels     # ~40 min on 2 CPU cores
    python -m experiments.channel_robustness --data ... --runs runs/augmented-loso=augmented
    python -m experiments.channel_robustness --smoke                # seconds: a tiny subset

Each fold bundle of each leave-one-speaker-out run (`--runs DIR=NAME`; without
it the default model is trained into `<out>/default`) scores its test
speaker's clips clean and through every channel of `CONDITIONS`
(`kser.channels`, seeded per clip by `--seed`), with all of the speaker's
clips known together (the bundle's default) and with each clip alone
(`--clips-per-speaker 1`). Writes `channel_robustness.{md,csv,json}` (mean
UAR over folds ± std, and the ratio of the mean to the clean mean) and
`channel_robustness.png` into the run directory; the per-fold UARs are in the
JSON. Corrupted features are kept in `<out>/channel-features/` (one file per
extractor, channel and fold), so scoring a second run with the same feature
reuses them.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

from experiments.common import experiment_parser, prepare, smoke_config, write_table
from kser.channels import CLEAN, corrupted_features, parse_channel
from kser.errors import KserError
from kser.training import ExperimentConfig, run_cross_validation

CONDITIONS = (CLEAN, "telephone", "noise:20", "noise:10", "noise:0", "reverb:0.3", "reverb:0.8")
GROUPINGS = {"all": None, "1": 1}  # clips of the test speaker known together
DEFAULT = ExperimentConfig(protocol="loso")
FEATURES_FOLDER = "channel-features"
# The key of a single-input bundle's features in a stored .npz (a dict keeps its input names).
_ARRAY = "__array__"


def main(argv=None) -> int:
    parser = experiment_parser(__doc__)
    parser.add_argument(
        "--runs",
        action="append",
        default=[],
        metavar="DIR=NAME",
        help="score the fold bundles of this finished LOSO run under NAME (repeatable)",
    )
    parser.add_argument(
        "--conditions",
        default=",".join(CONDITIONS),
        help=f"comma-separated channel specs (default: {','.join(CONDITIONS)})",
    )
    parser.add_argument(
        "--clips-per-emotion",
        type=int,
        metavar="N",
        help="score N clips of each emotion of each test speaker (seeded; default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the channels and groups")
    args = parser.parse_args(argv)
    conditions = [parse_channel(spec).spec for spec in args.conditions.split(",")]
    setup = prepare(args, "channel-robustness")
    runs = dict(_named_run(pair) for pair in args.runs)
    if not runs:
        runs["default"] = setup.run_dir / "default"
        config = setup.config(DEFAULT, smoke_config(DEFAULT))
        run_cross_validation(setup.corpus, config, runs["default"], tracker=setup.tracker)
    feature_dir = setup.run_dir / FEATURES_FOLDER
    uars = {
        name: fold_uars(
            directory, setup.corpus, conditions, args.seed, feature_dir, args.clips_per_emotion
        )
        for name, directory in runs.items()
    }
    rows = robustness_rows(uars, conditions)
    note = (
        "Mean test UAR over the leave-one-speaker-out folds (± std over folds) of each run's "
        "fold bundles, each test speaker's clips heard through the channel (seed "
        f"{args.seed}); clips known: all of the speaker's together, or each alone; "
        "ratio: mean UAR over the clean mean UAR."
    )
    if args.clips_per_emotion:
        note += (
            f" Scored: {args.clips_per_emotion} clips of each emotion of each test speaker "
            f"(random, seed {args.seed}), the same clips under every channel."
        )
    print(write_table(setup.run_dir, "channel_robustness", "UAR under channels", rows, note))
    _add_fold_uars(setup.run_dir / "channel_robustness.json", uars)
    print(f"plot: {plot_robustness(uars, conditions, setup.run_dir / 'channel_robustness.png')}")
    return 0


def fold_uars(
    run_dir: Path, corpus, conditions, seed: int, feature_dir: Path, clips_per_emotion=None
) -> dict:
    """`{grouping: {condition: {fold: test UAR}}}` of the fold bundles in `run_dir`, on
    `clips_per_emotion` random test clips of each emotion (None: every test clip)."""
    from kser.training import load_bundle

    bundles = sorted(run_dir.glob("*/bundle/bundle.json"))
    if not bundles:
        raise KserError(f"{run_dir}: no fold bundles (*/bundle) to score")
    uars = {grouping: {condition: {} for condition in conditions} for grouping in GROUPINGS}
    for path in bundles:
        bundle = load_bundle(path.parent)
        fold = path.parent.parent.name
        rows = _sampled(bundle.split_rows(corpus, "test"), corpus, clips_per_emotion, seed)
        for condition in conditions:
            features = _features(bundle, corpus, rows, condition, seed, feature_dir)
            for grouping, size in GROUPINGS.items():
                result = bundle.evaluate(
                    corpus, rows, seed=seed, clips_per_speaker=size, features=features
                )
                uars[grouping][condition][fold] = result.uar
            print(f"{run_dir.name} {fold} {condition}: UAR {uars['all'][condition][fold]:.3f}")
    return uars


def robustness_rows(uars: dict, conditions) -> list[dict]:
    """A table row per (run, clips known, channel): mean ± std UAR over folds, ratio to clean."""
    rows = []
    for name, by_grouping in uars.items():
        for grouping, by_condition in by_grouping.items():
            clean = np.mean(list(by_condition[CLEAN].values())) if CLEAN in by_condition else None
            for condition in conditions:
                values = list(by_condition[condition].values())
                rows.append(
                    {
                        "run": name,
                        "clips known": grouping,
                        "channel": condition,
                        "folds": len(values),
                        "UAR": f"{np.mean(values):.3f} ± {np.std(values):.3f}",
                        "ratio to clean": f"{np.mean(values) / clean:.2f}" if clean else "n/a",
                    }
                )
    return rows


def plot_robustness(uars: dict, conditions, path: Path) -> Path:
    """Bars of mean UAR over folds (± std) per condition, one per (run, grouping)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kser.paths import atomic_write_bytes

    series = [(name, grouping) for name in uars for grouping in GROUPINGS]
    width = 0.8 / len(series)
    positions = np.arange(len(conditions))
    figure, axes = plt.subplots(figsize=(max(6, 1.2 * len(conditions)), 4))
    for k, (name, grouping) in enumerate(series):
        values = [list(uars[name][grouping][c].values()) for c in conditions]
        axes.bar(
            positions + (k - (len(series) - 1) / 2) * width,
            [np.mean(v) for v in values],
            width,
            yerr=[np.std(v) for v in values],
            capsize=2,
            label=f"{name}, clips known: {grouping}",
        )
    axes.axhline(1 / 6, color="grey", linestyle=":", label="chance")
    axes.set_xticks(positions, conditions)
    axes.set_ylabel("UAR, mean over LOSO folds")
    axes.legend(fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    return atomic_write_bytes(path, buffer.getvalue())


def _sampled(rows, corpus, per_emotion, seed: int) -> np.ndarray:
    """`per_emotion` random rows of each emotion among `rows` (all of them when None), sorted."""
    if per_emotion is None:
        return rows
    rng = np.random.default_rng(seed)
    emotions = corpus.manifest["emotion"].to_numpy()[rows]
    chosen = [
        rng.permutation(rows[emotions == emotion])[:per_emotion] for emotion in np.unique(emotions)
    ]
    return np.sort(np.concatenate(chosen))


def _features(bundle, corpus, rows, condition: str, seed: int, feature_dir: Path):
    """Raw features of `rows` through `condition` (None for clean: the bundle reads its
    cache), kept in `feature_dir` under a key of everything that determines them."""
    if condition == CLEAN:
        return None
    identity = {
        "bundle": bundle._profile_identity()["features"],
        "channel": condition,
        "seed": seed,
        "clip_samples": bundle.clip_samples,
        "clips": corpus.manifest["path"].iloc[rows].map(lambda p: Path(p).name).tolist(),
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()[:24]
    path = feature_dir / f"{key}.npz"
    if path.is_file():
        with np.load(path) as stored:
            if stored.files == [_ARRAY]:
                return stored[_ARRAY]
            return {name: stored[name] for name in stored.files}
    features = corrupted_features(bundle, corpus, rows, parse_channel(condition), seed=seed)
    _save_features(path, features)
    return features


def _save_features(path: Path, features) -> None:
    from kser.paths import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez(buffer, **(features if isinstance(features, dict) else {_ARRAY: features}))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buffer.getvalue())


def _add_fold_uars(path: Path, uars: dict) -> None:
    from kser.paths import atomic_write_json

    table = json.loads(path.read_text(encoding="utf-8"))
    atomic_write_json(path, {**table, "fold_uars": uars})


def _named_run(pair: str) -> tuple[str, Path]:
    directory, _, name = pair.partition("=")
    return name or Path(directory).name, Path(directory)


if __name__ == "__main__":
    sys.exit(main())
