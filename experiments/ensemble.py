"""Learned-weight ensemble of per-feature models, tuned on out-of-fold predictions only.

    python -m experiments.ensemble --data /path/to/nemo --out runs/ensemble   # <1 h, 2 CPU cores
    python -m experiments.ensemble --members stack,mel,hpss:cnn3              # pick the members
    python -m experiments.ensemble --comparison runs/features --top-k 3       # best 3 features of
                                                                              # evaluated runs
    python -m experiments.ensemble --protocol speaker                         # one test split,
                                                                              # nested folds
    python -m experiments.ensemble --smoke                                    # seconds, tiny data

What it does under `--protocol speaker` (2 test speakers, 1 validation
speaker, 4 training speakers; for the default, loso, see below):

1. Members: one model per feature, or several on one feature
   (`--members feature[:model],...`, or the top `--top-k` features of a
   feature comparison's run directories).
2. Out-of-fold predictions: the 5 development speakers (training +
   validation) are split into 5 speaker-grouped folds; each member is trained
   on each fold (3 speakers train, 1 selects the checkpoint) and predicts the
   held-out speaker. `OutOfFoldPredictions` refuses any prediction for a clip
   the model trained on.
3. Tuning: KerasTuner's Bayesian optimisation searches how the weights are
   learned (softmax or non-negative weights, L1, learning rate, steps),
   scoring each trial by the UAR of predictions that neither the members nor
   the weights were fitted on, adapted to each speaker as the ensemble bundle
   will adapt them (on the members' graph vectors, from the same
   out-of-fold models). The temperature is then fitted by NLL, and, for an
   ensemble that adapts, a second one after adaptation (which flattens the
   probabilities again; neither changes the argmax).
4. Final members: each feature's CNN trained on the 4 training speakers with
   checkpoints selected on the validation speaker (the single-feature
   baselines), joined by the tuned combiner into one `WeightedEnsemble`.
5. Test: UAR, accuracy, macro-F1 with bootstrap CIs for the ensemble and
   every member; ECE and reliability diagrams before and after temperature;
   a bar chart of the learned weights.

The default, `--protocol loso` (the speaker-independent estimate over every
speaker), is cross-fitted instead of nested: each member is trained once per LOSO fold,
which predicts every speaker out of fold; the ensemble tested on speaker s
joins the members' fold-s models with a combiner tuned on the other speakers'
out-of-fold predictions. Neither the members nor the combiner of fold s ever
saw speaker s, and the run costs members x speakers trainings.

Writes into `--out` (default `runs/ensemble-<time>`; per fold for loso):
`ensemble/` (the bundle: `kser evaluate` and `kser predict` take it),
report.md/.html with metrics.json, weights.png, reliability.png (after
temperature) and reliability_before_temperature.png, ensemble.json (members
vs ensemble, weights, temperature, ECE, tuning trials), members/ (every fold
and final member run, each a bundle with its report), oof/ and tuner/.
Interrupted? Run the same command again: finished folds, members and trials
are kept, and an interrupted training resumes from its checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np
from matplotlib.figure import Figure

from kser.paths import atomic_write_json
from kser.training import ExperimentConfig, default_model

# Members are "feature" (with its usual model, or `--model`) or "feature:model".
# kser's best single model (prosody fusion on utterance functionals), an RBF
# kernel classifier on the 19 prosodic values alone (its mistakes differ from
# the fusion model's MLP on them), the 1-D CNN over the frames of the default
# stack, and a linear model on the MFCC functionals. The last two weigh little
# (0.02-0.07, 0-0.05): what they bring is their vectors in the speaker-adaptation
# graph (the CNN's embedding, the MFCC functionals: same-emotion clips of a
# speaker lie closer there). Measured on nEMO (7 speakers, cross-fitted LOSO,
# adapted to each speaker on the members' graph vectors): UAR 0.650 against
# 0.618 for prosody fusion (+0.032; kernel weight 0.38-0.52); without the MFCC
# member 0.645, adapted on the inputs and tuned on unadapted UAR 0.638. Before
# the kernel member: fusion, stack and cqt CNNs 0.616 (the CNNs got 0.01-0.10 of
# the weight and added nothing); the two experts as separate members
# (functionals:linear, prosody, stack, cqt) 0.594 against 0.581 for their best;
# CNNs on mfcc or hpss added nothing either.
DEFAULT_MEMBERS = ("functionals", "prosody:kernel", "stack", "mfcc_functionals")
N_FOLDS = 5
MAX_TRIALS = 30
# Each member is `kser train`'s recipe for its feature (a functionals model: seconds
# per training; a 1-D CNN: 1-2 minutes on 2 CPU cores). Under the default loso
# protocol that is 4 members x 7 folds = 28 trainings, under an hour with tuning.
MEMBER_CONFIG = ExperimentConfig(protocol="loso")
SMOKE_FEATURES = ("mel", "mfcc")
SMOKE_FEATURE_PARAMS = {"mel": {"n_mels": 16}, "mfcc": {"n_mels": 16, "n_mfcc": 8}}
SMOKE_CONFIG = dataclasses.replace(
    MEMBER_CONFIG,
    model="cnn3",
    model_params={"width": 0.125},
    epochs=1,
    batch_size=16,
    clip_seconds=1.0,
)
SMOKE_FOLDS = 2
SMOKE_TRIALS = 2


def select_features(members, comparison, top_k) -> list[str]:
    """`members` (comma-separated), else the best `top_k` features of `comparison` run dirs."""
    if members:
        return [name.strip() for name in members.split(",") if name.strip()]
    if not comparison:
        return list(DEFAULT_MEMBERS)
    from kser.evaluation import compare_runs

    run_dirs = []
    for path in map(Path, comparison):
        # A directory of runs stands for every run in it.
        run_dirs += (
            [path]
            if (path / "metrics.json").is_file()
            else sorted(found.parent for found in path.glob("*/metrics.json"))
        )
    ranked = []
    for row in compare_runs(run_dirs).rows:
        if row["feature"] and row["feature"] not in ranked:
            ranked.append(row["feature"])
    return ranked[:top_k]


def weights_png(weights: dict, title: str) -> bytes:
    """Bar chart of the ensemble's member weights."""
    import io

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


def run_split(corpus, split, members, extractors, feature_sets, directory, settings) -> dict:
    """Member folds, tuning, final members, the test evaluation and reports of one outer split."""
    from kser.ensemble import member_folds
    from kser.ensemble.members import train_member

    verbose = settings["verbose"]
    folds = member_folds(
        corpus,
        np.union1d(split.train, split.val),
        n_folds=settings["n_folds"],
        seed=settings["seed"],
    )
    stacked = out_of_fold_logits(
        corpus, members, folds, extractors, feature_sets, directory, verbose
    )
    stacked = with_adaptation_graph(stacked, members, feature_sets, directory)
    finals = {}
    for member in members:
        if verbose:
            print(f"kser: member {member.name}: final training on {split.name}")
        finals[member.name] = train_member(
            corpus,
            member,
            split,
            directory / "members" / member.name / "final",
            extractors[member.feature],
            feature_sets[member.feature],
            verbose,
        )
    return finish_split(corpus, split, stacked, finals, feature_sets, directory, settings)


def out_of_fold_logits(corpus, members, folds, extractors, feature_sets, directory, verbose):
    """Every member trained on every fold (into `directory/members`, resumable); their
    out-of-fold logits, kept in `directory/oof`, stacked."""
    from kser.ensemble import OutOfFoldPredictions
    from kser.ensemble.members import collect_out_of_fold

    out_of_fold = OutOfFoldPredictions(len(corpus.labels), directory / "oof")
    collect_out_of_fold(
        corpus,
        members,
        folds,
        extractors,
        feature_sets,
        out_of_fold,
        directory / "members",
        verbose,
    )
    return out_of_fold.stacked([member.name for member in members])


def with_adaptation_graph(stacked, members, feature_sets, directory):
    """`stacked` with the out-of-fold graph vectors its ensemble adapts on, if its members
    adapt to each speaker (then the tuner scores adapted predictions); else as it is."""
    from kser.ensemble.members import out_of_fold_graph

    if not any(member.config.speaker_adaptation for member in members):
        return stacked
    graph = out_of_fold_graph(stacked, members, feature_sets, directory / "members")
    return dataclasses.replace(stacked, graph=graph)


def run_cross_fitted(
    corpus, splits, outer_splits, members, extractors, feature_sets, run_dir, settings
):
    """Leave-one-speaker-out with one model per member and fold, cross-fitted combiners.

    Every member is trained once per LOSO fold (its test speaker held out, its
    validation speaker selecting the checkpoint), which gives each speaker's
    clips an out-of-fold prediction. The ensemble that is tested on speaker s
    joins the members' fold-s models with a combiner tuned on the out-of-fold
    predictions of the other speakers only: neither the combiner nor the
    members it joins ever saw speaker s. Nested folds would cost 6x the
    training for the same guarantee on the test speaker. Members train on all
    `splits` (each is some other fold's tuning data); `outer_splits` are the
    folds tested.
    """
    from kser.ensemble import MemberFold
    from kser.ensemble.members import load_member

    folds = [MemberFold(split.name, split.train, split.val, split.test) for split in splits]
    stacked = out_of_fold_logits(
        corpus, members, folds, extractors, feature_sets, run_dir, settings["verbose"]
    )
    stacked = with_adaptation_graph(stacked, members, feature_sets, run_dir)
    summaries = []
    for split in outer_splits:
        finals = {
            member.name: load_member(run_dir / "members" / member.name / split.name)
            for member in members
        }
        others = stacked.subset(stacked.folds != split.name)
        summaries.append(
            finish_split(
                corpus, split, others, finals, feature_sets, run_dir / split.name, settings
            )
        )
    return summaries


def finish_split(corpus, split, stacked, finals, feature_sets, directory, settings) -> dict:
    """Tune the combiner on `stacked` (out-of-fold logits), join `finals`, test, report."""
    from kser.training import save_bundle

    bundle, development = join_members(corpus, stacked, finals, directory, settings)
    bundle.info["protocol"] = split.protocol
    summary = {
        "split": split.name,
        "test_speakers": sorted(corpus.manifest["speaker"].iloc[split.test].unique().tolist()),
        **report_on_test(corpus, split, bundle, finals, feature_sets, directory, settings),
        "out_of_fold": {"folds": sorted(set(stacked.folds.tolist())), **development},
    }
    bundle.info["metrics"] = summary["ensemble"]
    save_bundle(bundle, directory / "ensemble", split=split, corpus=corpus)
    atomic_write_json(directory / "ensemble.json", summary)
    if settings["verbose"]:
        print(_format_summary(summary))
    return summary


def join_members(corpus, stacked, finals, directory, settings):
    """Tune and fit the combiner on out-of-fold logits; the ensemble bundle of the final members.

    Returns the bundle and what the development (out-of-fold) data says about it.
    """
    from kser.ensemble import (
        AdaptedUar,
        combined_logits,
        fit_combiner,
        fit_temperature,
        tune_combiner,
        uar_of_logits,
    )
    from kser.ensemble.members import ENSEMBLE_ADAPTATION, ensemble_bundle
    from kser.evaluation.calibration import calibrating_temperature

    labels = np.asarray(corpus.label_indices)[stacked.rows]
    # Scored as the bundle will predict: adapted to each speaker when its members adapt.
    score = uar_of_logits
    if stacked.graph is not None:
        speakers = corpus.manifest["speaker"].astype(str).to_numpy()[stacked.rows]
        score = AdaptedUar(ENSEMBLE_ADAPTATION, stacked.graph, speakers)
    tuned = tune_combiner(
        stacked,
        labels,
        directory / "tuner",
        max_trials=settings["max_trials"],
        seed=settings["seed"],
        score=score,
    )
    combiner = fit_combiner(stacked.logits, labels, **tuned.arguments)
    # The members' logits are out of fold; the combiner's K weights barely overfit thousands
    # of clips, so its own fit's outputs are held-out enough for one temperature.
    combined = combined_logits(combiner, stacked.logits)
    temperature = fit_temperature(combined, labels)
    # Adaptation averages over neighbours, which flattens the calibrated probabilities
    # again: its own temperature, fitted the same way on the adapted ones.
    adaptation_temperature = 1.0
    if stacked.graph is not None:
        adapted = score.adapted(combined / temperature)
        adaptation_temperature = calibrating_temperature(adapted, labels) or 1.0
    bundle = ensemble_bundle(
        finals,
        normalization=tuned.arguments["normalization"],
        l1=tuned.arguments["l1"],
        weight_logits=keras.ops.convert_to_numpy(combiner.weight_logits),
        temperature=temperature,
        adaptation_temperature=adaptation_temperature,
        info={
            "model": {"name": "weighted_ensemble", "members": list(finals)},
            "combiner": {
                **tuned.arguments,
                "temperature": temperature,
                "adaptation_temperature": adaptation_temperature,
            },
            "corpus": corpus.source,
        },
    )
    development = {
        "n_clips": int(len(stacked.rows)),
        # Each member scored as the tuner scores the ensemble (adapted on the same graph).
        "member_uar": {
            name: score(stacked.logits[:, k], labels) for k, name in enumerate(stacked.members)
        },
        "scored_with_speaker_adaptation": stacked.graph is not None,
        "ensemble_uar_cross_fitted": tuned.uar,
        "tuning": {"best": tuned.arguments, "trials": tuned.trials},
    }
    return bundle, development


def report_on_test(corpus, split, bundle, finals, feature_sets, directory, settings) -> dict:
    """Score the ensemble (before and after temperature) and each member on the test split.

    Writes the ensemble's report, reliability_before_temperature.png and weights.png.
    """
    from kser.evaluation import plots, write_report
    from kser.paths import atomic_write_bytes

    seed = settings["seed"]
    temperature = float(keras.ops.convert_to_numpy(bundle.model.combiner.temperature))
    adaptation = bundle.speaker_adaptation
    used_sets = {feature: feature_sets[feature] for feature in bundle.extractor}

    def ensemble_at(calibrated: bool):
        """The test result with the fitted temperatures, or with both at 1."""
        bundle.model.combiner.set_temperature(temperature if calibrated else 1.0)
        scored = bundle
        if adaptation is not None and not calibrated:
            uncalibrated = dataclasses.replace(adaptation, temperature=1.0)
            scored = bundle.with_speaker_adaptation(uncalibrated)
        return scored.evaluate(corpus, split.test, feature_set=used_sets, seed=seed)

    before, after = ensemble_at(False), ensemble_at(True)
    member_results = {
        name: member.evaluate(
            corpus, split.test, feature_set=feature_sets[member.extractor.name], seed=seed
        )
        for name, member in finals.items()
    }
    best = max(member_results, key=lambda name: member_results[name].uar)
    weights = bundle.model.mixing_weights()
    write_report(
        after,
        directory,
        title=f"Weighted ensemble ({', '.join(finals)}) — {split.name}",
        metadata={
            "members": list(finals),
            "protocol": split.protocol,
            "combiner": bundle.info["combiner"],
            "weights": weights,
            "member_uar": {name: result.uar for name, result in member_results.items()},
            "ece_before_temperature": before.ece,
        },
    )
    atomic_write_bytes(
        directory / "reliability_before_temperature.png", plots.reliability_png(before)
    )
    normalization = bundle.model.normalization
    atomic_write_bytes(
        directory / "weights.png", weights_png(weights, f"Learned weights ({normalization})")
    )
    return {
        "ensemble": _scores(after),
        "members": {name: _scores(result) for name, result in member_results.items()},
        "best_member": best,
        "uar_gain_over_best_member": after.uar - member_results[best].uar,
        "weights": weights,
        "temperature": temperature,
        "adaptation_temperature": None if adaptation is None else adaptation.temperature,
        "ece_before_temperature": before.ece,
        "ece_after_temperature": after.ece,
    }


def _scores(result) -> dict:
    return {
        "uar": result.uar,
        "uar_ci": list(result.uar_ci) if result.uar_ci else None,
        "accuracy": result.accuracy,
        "accuracy_ci": list(result.accuracy_ci) if result.accuracy_ci else None,
        "macro_f1": result.macro_f1,
        "ece": result.ece,
    }


def _format_summary(summary) -> str:
    lines = [f"{summary['split']} (test speakers {', '.join(summary['test_speakers'])}):"]
    for name, scores in [("ensemble", summary["ensemble"]), *summary["members"].items()]:
        interval = scores["uar_ci"]
        lines.append(
            f"  {name:20} UAR {scores['uar']:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]  "
            f"accuracy {scores['accuracy']:.3f}  macro-F1 {scores['macro_f1']:.3f}"
        )
    weights = ", ".join(f"{name} {w:.3f}" for name, w in summary["weights"].items())
    lines.append(
        f"  gain over best member ({summary['best_member']}): "
        f"{summary['uar_gain_over_best_member']:+.3f} UAR; weights: {weights}; "
        f"temperature {summary['temperature']:.2f}"
        + (
            f" (after adaptation {summary['adaptation_temperature']:.2f})"
            if summary["adaptation_temperature"] is not None
            else ""
        )
        + f", ECE {summary['ece_before_temperature']:.3f} -> {summary['ece_after_temperature']:.3f}"
    )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="nEMO directory, CSV or Hugging Face dataset")
    parser.add_argument("--out", help="run directory (default: runs/ensemble-<time>)")
    parser.add_argument("--protocol", choices=("speaker", "loso"), default="loso")
    parser.add_argument("--fold", action="append", help="loso: run only this outer fold")
    parser.add_argument(
        "--members",
        help=f"feature[:model], comma-separated (default: {','.join(DEFAULT_MEMBERS)})",
    )
    parser.add_argument("--comparison", nargs="+", metavar="RUN_DIR", help="rank features by these")
    parser.add_argument("--top-k", type=int, default=3, help="members taken from --comparison")
    parser.add_argument(
        "--model", help="architecture of members named without one (default: the feature's usual)"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="default: the member model's usual (40 for linear models, else 20)",
    )
    parser.add_argument("--folds", type=int, default=N_FOLDS, help="member folds per split")
    parser.add_argument("--max-trials", type=int, default=MAX_TRIALS, help="KerasTuner trials")
    parser.add_argument("--seed", type=int, default=MEMBER_CONFIG.seed)
    parser.add_argument("--smoke", action="store_true", help="tiny subset, 1 epoch (a test)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    from experiments.common import smoke_subset
    from kser.data import load_corpus, make_splits
    from kser.training import default_run_dir
    from kser.training.trainer import seed_everything

    start = time.perf_counter()
    # Deterministic ops from the start: a resumed run may train nothing, yet its combiner
    # fits must add up in the same order as a fresh run's (trial scores tie to 1e-4).
    seed_everything(args.seed)
    members, settings = configure(args)
    corpus = load_corpus(args.data)
    if args.smoke:
        corpus = smoke_subset(corpus)
    splits = make_splits(corpus, args.protocol, args.seed)
    outer_splits = splits
    if args.fold:
        unknown = sorted(set(args.fold) - {split.name for split in splits})
        if unknown:
            parser.error(
                f"unknown --fold {unknown}; {args.protocol} has {[s.name for s in splits]}"
            )
        outer_splits = [split for split in splits if split.name in args.fold]
    run_dir = Path(args.out or default_run_dir("ensemble"))
    config = {
        "protocol": args.protocol,
        **settings,
        "members": [dataclasses.asdict(member.config) for member in members],
    }
    # Resuming with other settings would mix the folds, members and trials of two runs.
    stored = run_dir / "config.json"
    if stored.is_file() and json.loads(stored.read_text()) != json.loads(json.dumps(config)):
        parser.error(f"{run_dir} holds a run with other settings; resume it with its own")
    atomic_write_json(stored, config)
    extractors, feature_sets = extract_member_features(corpus, members, progress=not args.smoke)
    if args.protocol == "loso":
        summaries = run_cross_fitted(
            corpus, splits, outer_splits, members, extractors, feature_sets, run_dir, settings
        )
    else:
        (split,) = outer_splits
        summaries = [run_split(corpus, split, members, extractors, feature_sets, run_dir, settings)]
    if len(summaries) > 1:
        _write_fold_summary(run_dir, summaries, outer_splits)
    print(f"kser: ensemble run in {run_dir} ({time.perf_counter() - start:.0f} s)")
    return 0


def configure(args):
    """The members and the run settings the command line asks for."""
    from kser.ensemble.members import Member

    base = SMOKE_CONFIG if args.smoke else MEMBER_CONFIG
    base = dataclasses.replace(base, protocol=args.protocol, seed=args.seed)
    if args.smoke and not args.members:
        chosen = list(SMOKE_FEATURES)
    else:
        chosen = select_features(args.members, args.comparison, args.top_k)
    feature_params = SMOKE_FEATURE_PARAMS if args.smoke else {}
    members = []
    for spec in chosen:
        feature, _, model = spec.partition(":")
        # "feature:model", else --model, else the feature's usual architecture.
        model = model or args.model or (base.model if args.smoke else default_model(feature))
        config = dataclasses.replace(
            base,
            feature=feature,
            feature_params=feature_params.get(feature, {}),
            model=model,
            model_params=base.model_params if model == base.model else {},
            # None: the model's usual number (`kser.training.run.MODEL_EPOCHS`).
            epochs=args.epochs or (base.epochs if args.smoke else None),
        )
        members.append(Member(config))
    settings = {
        "n_folds": SMOKE_FOLDS if args.smoke else args.folds,
        "max_trials": SMOKE_TRIALS if args.smoke else args.max_trials,
        "seed": args.seed,
        "verbose": 0 if args.smoke else 2,
        # A run directory tuned on another score holds trials this run must not resume.
        "tuning_score": (
            "uar adapted on the members' graph"
            if any(member.config.speaker_adaptation for member in members)
            else "uar"
        ),
    }
    return members, settings


def extract_member_features(corpus, members, progress):
    """`{feature: extractor}` and `{feature: FeatureSet}` of the members' features (cached)."""
    from kser import features
    from kser.features.pipeline import extract_features

    extractors, feature_sets = {}, {}
    for member in members:
        if member.feature in extractors:
            continue
        extractor = features.get(member.feature, **member.config.feature_params)
        extractors[member.feature] = extractor
        feature_sets[member.feature] = extract_features(
            corpus.manifest, extractor, clip_seconds=member.config.clip_seconds, progress=progress
        )
    return extractors, feature_sets


def _write_fold_summary(run_dir, summaries, splits) -> None:
    """Mean ± std over outer folds for the ensemble and each member (loso)."""
    from kser.evaluation import aggregate_folds

    def fold_metrics(split_dir):
        return json.loads((split_dir / "metrics.json").read_text(encoding="utf-8"))

    ensemble = aggregate_folds(
        [fold_metrics(run_dir / split.name) for split in splits], [s.name for s in splits]
    )
    member_means = {
        name: float(np.mean([summary["members"][name]["uar"] for summary in summaries]))
        for name in summaries[0]["members"]
    }
    best = max(member_means, key=member_means.get)
    atomic_write_json(
        run_dir / "summary.json",
        {
            "ensemble": ensemble,
            "member_mean_uar": member_means,
            "best_member": best,
            "uar_gain_over_best_member": ensemble["uar"]["mean"] - member_means[best],
        },
    )
    print(
        f"kser: mean UAR over {len(splits)} folds: ensemble {ensemble['uar']['mean']:.3f}, "
        f"best member {best} {member_means[best]:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
