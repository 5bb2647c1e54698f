"""The `kser` command line. Each subcommand is a pair of functions:
`_add_<name>_arguments(parser)` and `_run_<name>(args)`, registered in `COMMANDS`.

Commands import what they need inside `_run_<name>`, so `kser --help`, `kser
info` and `kser cache ls` start without TensorFlow. TensorFlow's own log lines
are silenced unless `--verbose` is given.
"""

from __future__ import annotations

import argparse
import sys

from kser.errors import KserError

# Exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130


class CommandInterrupted(KeyboardInterrupt):
    """Ctrl-C, with one line on what was saved and how to go on."""


def _add_info_arguments(parser):
    parser.add_argument("--data", help="corpus: nEMO directory, CSV file, or Hugging Face dataset")
    parser.add_argument("--skip-bad", action="store_true", help="drop bad clips, print a summary")


def _run_info(args):
    from kser.data import describe_corpus, load_corpus

    corpus = load_corpus(args.data, skip_bad=args.skip_bad)
    print(describe_corpus(corpus))


def _add_report_arguments(parser):
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="evaluated run directories")


def _run_report(args):
    from kser.evaluation import compare_runs

    print(compare_runs(args.run_dirs).format_text())


def _add_cache_arguments(parser):
    actions = parser.add_subparsers(dest="cache_command", required=True)
    actions.add_parser("ls", help="list cached feature sets")
    clear = actions.add_parser("clear", help="delete cached feature sets")
    clear.add_argument("--feature", help="delete only this feature's sets (e.g. mel)")


def _run_cache(args):
    from kser.features.cache import clear_cache, features_root, list_cache

    if args.cache_command == "clear":
        removed = clear_cache(feature=args.feature)
        print(f"removed {removed} cached feature set(s) from {features_root()}")
        return
    entries = list_cache()
    print(f"{features_root()}: {len(entries)} cached feature set(s)")
    if entries:
        print(f"{'key':16}  {'feature':12}  {'size':>10}  {'clips':>6}  status")
    for entry in entries:
        status = "complete" if entry["complete"] else "partial"
        size = f"{entry['bytes'] / 2**20:.1f} MiB"
        key, feature, clips = entry["key"][:16], entry["feature"], entry["clips"]
        print(f"{key:16}  {feature:12}  {size:>10}  {clips:>6}  {status}")


def _add_train_arguments(parser):
    # Options left out keep `kser.training.ExperimentConfig`'s defaults.
    parser.add_argument("--data", help="corpus: nEMO directory, CSV file, or Hugging Face dataset")
    parser.add_argument(
        "--config",
        metavar="CONFIG_JSON",
        help="start from a saved run's settings (RUN/config.json, or RUN); options given "
        "here override them",
    )
    parser.add_argument(
        "--model",
        help="architecture: prosody_fusion, linear, conv1d, audio_resnet, vgg16, cnn3, ... "
        "(default: prosody_fusion for functionals, linear for prosody, else conv1d)",
    )
    parser.add_argument(
        "--feature", help="model input: functionals (default), stack, mel, stft, mfcc, ..."
    )
    parser.add_argument(
        "--protocol", help="seed|speaker|loso|kfold (default: speaker; for cv: loso)"
    )
    parser.add_argument(
        "--epochs", type=int, help="most epochs (default: 40 for linear models, else 20)"
    )
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--weight-decay", type=float)
    parser.add_argument("--schedule", help="cosine|plateau")
    parser.add_argument("--patience", type=int, help="early-stopping patience (epochs)")
    parser.add_argument(
        "--normalization", help="none|clip|speaker|global|clip+global|speaker+global"
    )
    parser.add_argument("--augment", help='"none", "default" or "op,op,..."')
    parser.add_argument(
        "--waveform-augment", help='waveforms, before features: "none", "default" or "op,op,..."'
    )
    parser.add_argument(
        "--class-weights", action="store_true", default=None, help="inverse-frequency loss"
    )
    parser.add_argument(
        "--mixup",
        type=float,
        metavar="ALPHA",
        help="blend training clips and labels, weights ~ Beta(ALPHA, ALPHA) (default: 0, off)",
    )
    parser.add_argument(
        "--adversarial-training",
        metavar="METHOD:EPS",
        help="also learn each batch attacked: fgsm:EPS or pgd:EPS[:STEPS], eps in "
        "normalized-feature std units (default: off)",
    )
    parser.add_argument(
        "--channel-augmentation",
        metavar="CHOICES",
        help="also train on one copy of each clip through a channel drawn from CHOICES, e.g. "
        "telephone,noise:5-20,reverb:0.2-0.8 (seeded per clip; default: off)",
    )
    parser.add_argument(
        "--refit",
        action="store_true",
        default=None,
        help="after choosing the epoch on val, retrain on train + val for that many epochs",
    )
    _add_adaptation_argument(parser, default="on")
    parser.add_argument(
        "--speaker-prior",
        action=argparse.BooleanOptionalAction,
        help="shrink each speaker's statistics towards the population's by the clips known, so "
        "one clip is z-scored with the population's (default: on)",
    )
    parser.add_argument(
        "--speaker-subsets",
        action=argparse.BooleanOptionalAction,
        help="train on clips normalized with statistics of random subsets of their speaker's "
        "clips, 1 to all (default: on)",
    )
    parser.add_argument("--seed", type=int, help="split and training seed")
    parser.add_argument(
        "--feature-param", action="append", default=[], metavar="KEY=VALUE", help="e.g. n_mels=128"
    )
    parser.add_argument(
        "--model-param", action="append", default=[], metavar="KEY=VALUE", help="e.g. width=1.0"
    )
    parser.add_argument("--fold", action="append", help="run only this fold (loso, kfold)")
    parser.add_argument("--out", help="run directory (default: runs/<model>-<feature>-<time>)")
    parser.add_argument("--mlflow-uri", help="MLflow tracking URI (default: sqlite ./mlruns.db)")
    parser.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    parser.add_argument("--skip-bad", action="store_true", help="drop bad clips, print a summary")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="train again into an --out that holds a finished run or one of other settings",
    )


_TRAIN_OPTIONS = (
    "protocol", "seed", "feature", "normalization", "augment", "waveform_augment", "model",
    "epochs", "batch_size", "learning_rate", "weight_decay", "schedule", "patience",
    "speaker_adaptation", "mixup", "adversarial_training", "speaker_prior", "speaker_subsets",
    "class_weights", "refit", "channel_augmentation",
)  # fmt: skip


def _experiment_config(args):
    """The `ExperimentConfig` of `kser train` or `kser cv` arguments, every option checked:
    `--config`'s saved settings, overridden by the options given."""
    import dataclasses

    from kser.training import ExperimentConfig
    from kser.training.run_directory import read_config

    settings = dataclasses.asdict(read_config(args.config)) if args.config else {}
    settings.update(
        {name: getattr(args, name) for name in _TRAIN_OPTIONS if getattr(args, name) is not None}
    )
    for name, pairs, option in (
        ("feature_params", args.feature_param, "--feature-param"),
        ("model_params", args.model_param, "--model-param"),
    ):
        if pairs or name not in settings:
            settings[name] = _key_values(pairs, option)
    if args.fold is not None or "folds" not in settings:
        settings["folds"] = args.fold
    try:
        return ExperimentConfig(**settings)
    except ValueError as error:  # the config's own checks, e.g. --epochs 0
        raise KserError(str(error)) from None


def _run_train(args):
    from kser.training import run_experiment

    config = _experiment_config(args)
    corpus, run_dir, tracker = _prepared_run(args, config, finished_ok=False)
    try:
        outcome = run_experiment(corpus, config, run_dir, tracker=tracker)
    except KeyboardInterrupt:
        raise _interrupted(run_dir) from None
    for split in outcome.splits:
        reused = "  (complete before, not retrained)" if split.reused else ""
        print(
            f"{split.name}: test UAR {split.metrics['uar']:.3f}  "
            f"bundle: {split.bundle_directory}{reused}"
        )
    if outcome.summary:
        uar = outcome.summary["uar"]
        folds = outcome.summary["n_folds"]
        print(f"mean UAR over {folds} folds: {uar['mean']:.3f} ± {uar['std']:.3f}")


def _prepared_run(args, config, *, finished_ok: bool):
    """`(corpus, run directory, tracker)` of a training command, or a `KserError`
    before anything is written: the run directory is checked before the corpus loads."""
    from pathlib import Path

    from kser.data import load_corpus
    from kser.training import Tracker, default_run_dir
    from kser.training.run_directory import check_run_directory, clear_run_directory

    run_dir = Path(args.out or default_run_dir(config.run_name()))
    if not args.overwrite:
        check_run_directory(run_dir, config, finished_ok=finished_ok)
    corpus = load_corpus(args.data, skip_bad=args.skip_bad)
    if args.overwrite:
        clear_run_directory(run_dir)
    tracker = None if args.no_mlflow else Tracker(args.mlflow_uri)
    return corpus, run_dir, tracker


def _interrupted(run_dir) -> CommandInterrupted:
    from kser.training.run_directory import interruption_summary

    return CommandInterrupted(interruption_summary(run_dir))


def _add_cv_arguments(parser):
    _add_train_arguments(parser)


def _run_cv(args):
    from kser.evaluation.tables import format_text_table
    from kser.training.cross_validation import (
        CROSS_VALIDATION_PROTOCOLS,
        REPORT_FILE,
        cross_validation_tables,
        run_cross_validation,
    )

    if args.protocol is None and args.config is None:
        args.protocol = "loso"
    config = _experiment_config(args)
    if config.protocol not in CROSS_VALIDATION_PROTOCOLS:
        allowed = " or ".join(CROSS_VALIDATION_PROTOCOLS)
        raise KserError(f"cv needs --protocol {allowed}. Received: {config.protocol!r}")
    # Complete folds are reused, never retrained: a finished run is extended, not refused.
    corpus, run_dir, tracker = _prepared_run(args, config, finished_ok=True)
    try:
        outcome = run_cross_validation(corpus, config, run_dir, tracker=tracker)
    except KeyboardInterrupt:
        raise _interrupted(run_dir) from None
    print()
    for table in cross_validation_tables(outcome.summary):
        print(format_text_table(table), end="\n\n")
    trained, reused = ", ".join(outcome.trained), ", ".join(outcome.reused)
    print(f"folds trained now: {trained or 'none'}; complete before: {reused or 'none'}")
    print(f"report: {run_dir / REPORT_FILE} (also summary.json, folds.csv)")
    print(f"resume or extend: the same command with --out {run_dir}")


def _key_values(pairs, option) -> dict:
    """`["n_mels=128", "fmax=8e3"]` -> `{"n_mels": 128, "fmax": 8000.0}` (JSON, else text)."""
    import json

    values = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key:
            raise KserError(f"{option} takes KEY=VALUE. Received: {pair!r}")
        try:
            values[key] = json.loads(text)
        except ValueError:
            values[key] = text
    return values


def _add_evaluate_arguments(parser):
    parser.add_argument(
        "bundle", metavar="BUNDLE", help="trained-model bundle (or its run directory)"
    )
    parser.add_argument("--data", help="corpus to score: nEMO directory, CSV, Hugging Face dataset")
    parser.add_argument("--json", metavar="FILE", help="also write the metrics as JSON")
    parser.add_argument("--report", metavar="DIR", help="also write a full report into DIR")
    parser.add_argument(
        "--part",
        choices=("train", "val", "test", "all"),
        help="score only the clips of this part of the bundle's split, or all clips (default: "
        "those the bundle never trained or validated on)",
    )
    parser.add_argument(
        "--clips-per-speaker",
        type=_clips_per_speaker,
        metavar="N",
        help="score each speaker's clips in random groups of N (seeded; 1: each clip alone), "
        "as an application knowing N clips of a voice would (default: all)",
    )
    parser.add_argument(
        "--channel",
        metavar="SPEC",
        help="score the clips heard through a channel: telephone, noise:SNR, reverb:RT60, "
        "chained with '+' (seeded per clip by --seed; default: clean)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the groups, bootstrap and channel"
    )
    _add_adaptation_argument(parser, default="as the bundle was trained")
    parser.add_argument("--skip-bad", action="store_true", help="drop bad clips, print a summary")


def _clips_per_speaker(text: str):
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"takes a positive integer or 'all'. Received: {text!r}")
    return value


def _run_evaluate(args):
    from kser.data import load_corpus
    from kser.paths import atomic_write_json

    channel = None
    if args.channel:
        from kser.channels import parse_channel

        channel = parse_channel(args.channel)  # checked before anything loads
    bundle = _loaded_bundle(args)
    corpus = load_corpus(args.data, skip_bad=args.skip_bad)
    rows = _evaluated_rows(bundle, corpus, args.part)
    features = None
    if channel is not None:
        from kser.channels import corrupted_features

        rows = range(len(corpus)) if rows is None else rows
        features = corrupted_features(bundle, corpus, rows, channel, seed=args.seed)
    result = bundle.evaluate(
        corpus,
        rows,
        seed=args.seed,
        clips_per_speaker=args.clips_per_speaker,
        features=features,
    )
    grouping = (
        "all of each speaker's clips together"
        if args.clips_per_speaker is None
        else f"each speaker's clips in random groups of {args.clips_per_speaker}"
    )
    heard = "" if channel is None else f", through channel {channel.spec}"
    print(f"bundle {bundle.directory} on {corpus.source} ({result.n} clips, {grouping}{heard})")
    print(result.format_text())
    if args.json:
        described = {} if channel is None else {"channel": channel.spec}
        atomic_write_json(args.json, {**result.to_dict(), **described})
    if args.report:
        from kser.evaluation import write_report

        title = f"{bundle.directory} on {corpus.source}"
        write_report(result, args.report, title=title, metadata={"bundle": str(bundle.directory)})


def _evaluated_rows(bundle, corpus, part):
    """The rows `kser evaluate` scores: `part` of the bundle's split, every row for "all",
    and by default those the bundle never trained or validated on (said aloud)."""
    from kser.errors import KserBundleError

    if part == "all":
        return None
    if part is not None:
        return bundle.split_rows(corpus, part)
    try:
        rows = bundle.unseen_rows(corpus)
    except KserBundleError:
        print(
            "kser evaluate: warning: the bundle has no split lists, so its training clips cannot "
            "be left out: if this corpus holds them, the scores are optimistic",
            file=sys.stderr,
        )
        return None
    if len(rows) == 0:
        raise KserError(
            f"{corpus.source}: every clip was in the bundle's training or validation part; "
            "pass --part train|val|all to score them anyway"
        )
    if len(rows) < len(corpus):
        print(
            f"kser evaluate: scoring the {len(rows)} of {len(corpus)} clips the bundle never "
            "trained or validated on (--part all scores every clip)"
        )
    return rows


def _add_predict_arguments(parser):
    parser.add_argument(
        "bundle", metavar="BUNDLE", help="trained-model bundle (or its run directory)"
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="audio files or folders, or a CSV file listing them (column 'path')",
    )
    parser.add_argument("--per-window", action="store_true", help="also print each 3 s window")
    parser.add_argument(
        "--separate-speakers",
        action="store_true",
        help="normalize each file as its own speaker (default: all files as one speaker)",
    )
    parser.add_argument(
        "--speaker-column",
        metavar="COLUMN",
        help="with a CSV input: the column naming each file's speaker (files of one speaker "
        "are normalized and adapted together)",
    )
    parser.add_argument(
        "--speaker-profile",
        metavar="FILE",
        help="JSON profile of the one speaker of these files: read if it exists (the clips "
        "seen before count), then updated with these files",
    )
    _add_adaptation_argument(parser, default="as the bundle was trained")
    parser.add_argument("--json", metavar="FILE", help="also write the predictions as JSON")
    parser.add_argument(
        "--skip-bad", action="store_true", help="skip files that cannot be decoded, say which"
    )


def _add_adaptation_argument(parser, default: str):
    parser.add_argument(
        "--speaker-adaptation",
        action=argparse.BooleanOptionalAction,
        help="smooth each speaker's predictions over their similar clips, or predict every "
        f"clip on its own (default: {default})",
    )


def _loaded_bundle(args):
    from kser.runtime import is_exported

    if is_exported(args.bundle):  # a `kser export` directory, served by onnxruntime
        from kser.runtime import load_exported

        return load_exported(args.bundle, speaker_adaptation=args.speaker_adaptation)
    from kser.inference.speaker_adaptation import SpeakerAdaptation
    from kser.training import load_bundle

    bundle = load_bundle(args.bundle)
    if args.speaker_adaptation is None:
        return bundle
    if args.speaker_adaptation:
        return bundle.with_speaker_adaptation(SpeakerAdaptation.suited_to(bundle.model))
    return bundle.with_speaker_adaptation(None)


def _run_predict(args):
    from pathlib import Path

    from kser.paths import atomic_write_json
    from kser.speakers.profile import SpeakerProfile

    paths, speakers = _predict_inputs(args.paths, args.speaker_column)
    grouping = [args.separate_speakers, speakers is not None, args.speaker_profile is not None]
    if sum(grouping) > 1:
        raise KserError(
            "--separate-speakers, --speaker-column and --speaker-profile each say who speaks "
            "in which file: pass one of them"
        )
    bundle = _loaded_bundle(args)
    profile = None
    if args.speaker_profile:
        known = Path(args.speaker_profile).is_file()
        profile = SpeakerProfile.load(args.speaker_profile) if known else bundle.speaker_profile()
    predictions = bundle.predict_files(
        paths,
        per_window=args.per_window,
        separate_speakers=args.separate_speakers,
        speakers=speakers,
        profile=profile,
        skip_bad=args.skip_bad,
    )
    header = "  ".join(f"{label[:9]:>9}" for label in bundle.labels)
    print(f"{header}  {'emotion':10}  file")
    for prediction in predictions:
        if prediction.error is not None:
            print(f"{'skipped':>{len(header)}}  {'':10}  {prediction.error}")
            continue
        row = _probability_row(prediction.probabilities)
        print(f"{row}  {prediction.emotion:10}  {prediction.path}")
        for window in prediction.windows:
            span = f"{window.start:7.2f}-{window.end:.2f} s"
            print(f"{_probability_row(window.probabilities)}  {'':10}    {span}")
    skipped = sum(prediction.error is not None for prediction in predictions)
    if skipped:
        print(f"skipped {skipped} of {len(predictions)} file(s) that could not be decoded")
    if profile is not None:
        profile.save(args.speaker_profile)
        print(f"speaker profile {args.speaker_profile}: {profile.n_clips} clip(s) of this voice")
    if args.json:
        atomic_write_json(args.json, [prediction.to_dict() for prediction in predictions])


def _predict_inputs(paths, speaker_column):
    """`(paths, speaker ids or None)`: a single CSV argument lists the files (column
    "path", relative to the CSV's folder) and, with `speaker_column`, their speakers."""
    from pathlib import Path

    listed = [path for path in paths if path.lower().endswith(".csv")]
    if not listed:
        if speaker_column:
            raise KserError("--speaker-column needs a CSV file listing the audio files")
        return paths, None
    if len(paths) != 1:
        raise KserError("a CSV list of files is given alone, not with other paths")
    import pandas as pd

    table_path = Path(listed[0])
    try:
        table = pd.read_csv(table_path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as error:
        raise KserError(f"{table_path}: cannot read the file list ({error})") from None
    for column in ("path", speaker_column):
        if column and column not in table.columns:
            raise KserError(
                f"{table_path}: no column {column!r} (columns: {', '.join(table.columns)})"
            )
    files = [str(table_path.parent / path) for path in table["path"]]
    return files, (table[speaker_column].tolist() if speaker_column else None)


def _probability_row(probabilities) -> str:
    return "  ".join(f"{p:9.3f}" for p in probabilities)


def _add_export_arguments(parser):
    from kser.export.command import add_arguments

    add_arguments(parser)


def _run_export(args):
    from kser.export.command import run

    run(args)


def _add_features_arguments(parser):
    actions = parser.add_subparsers(dest="features_command", required=True)
    plot = actions.add_parser("plot", help="draw all 13 representations of a clip in one PNG")
    plot.add_argument("audio", metavar="AUDIO", help="audio file (its middle 3 s at 16 kHz)")
    plot.add_argument("-o", "--out", required=True, metavar="OUT", help="PNG file to write")


def _run_features(args):
    from kser.data.audio import SAMPLE_RATE, load_clip
    from kser.features.plot import plot_all_features

    waveform = load_clip(args.audio, SAMPLE_RATE)
    print(f"wrote {plot_all_features(waveform, SAMPLE_RATE, args.out)}")


def _add_explain_arguments(parser):
    from kser.xai.command import add_arguments

    add_arguments(parser)


def _run_explain(args):
    from kser.xai.command import run

    return run(args)


def _add_attack_arguments(parser):
    from kser.adversarial.command import add_arguments

    add_arguments(parser)


def _run_attack(args):
    from kser.adversarial.command import run

    return run(args)


def _add_ensemble_arguments(parser):
    from kser.ensemble.command import add_arguments

    add_arguments(parser)


def _run_ensemble(args):
    from kser.ensemble.command import run

    return run(args)


# name -> (help, add_arguments, run). Append new commands here.
COMMANDS = {
    "info": ("corpus statistics", _add_info_arguments, _run_info),
    "report": ("rank run directories by UAR, McNemar test", _add_report_arguments, _run_report),
    "cache": ("list or clear cached features", _add_cache_arguments, _run_cache),
    "train": ("train a model, report it, save a bundle", _add_train_arguments, _run_train),
    "cv": ("cross-validate: a model per fold, resumable", _add_cv_arguments, _run_cv),
    "evaluate": ("score a bundle on a corpus", _add_evaluate_arguments, _run_evaluate),
    "predict": ("emotion probabilities of audio files", _add_predict_arguments, _run_predict),
    "features": ("feature tools: plot", _add_features_arguments, _run_features),
    "export": ("export a bundle to ONNX (INT8 optional)", _add_export_arguments, _run_export),
    "explain": ("what a bundle listened to: maps per clip", _add_explain_arguments, _run_explain),
    "attack": ("scores under adversarial attack (FGSM, PGD)", _add_attack_arguments, _run_attack),
    "ensemble": (
        "learned-weight ensemble, tuned out of fold",
        _add_ensemble_arguments,
        _run_ensemble,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    from kser.version import __version__

    parser = argparse.ArgumentParser(prog="kser", description="Speech emotion recognition.")
    parser.add_argument("--version", action="version", version=f"kser {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=help_text)
        add_arguments(subparser)
        if "--verbose" not in subparser._option_string_actions:  # a command may define its own
            subparser.add_argument(
                "--verbose", action="store_true", help="also show TensorFlow's own log lines"
            )
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if not getattr(args, "verbose", False):
        from kser.tensorflow_logs import silence_tensorflow

        silence_tensorflow()
    _, _, run = COMMANDS[args.command]
    try:
        return run(args) or 0
    except KserError as error:
        print(f"kser {args.command}: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        from kser.extras import missing_extra

        message = missing_extra(error)
        if message is None:
            raise
        print(f"kser {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interruption:
        print(f"kser {args.command}: {interruption or 'interrupted'}", file=sys.stderr)
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
