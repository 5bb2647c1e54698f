"""The ensemble workflow: members trained fold by fold, the combiner tuned on their
out-of-fold predictions, the ensemble joined, tested against its members, reported.

    summaries = run_ensemble(EnsembleConfig(protocol="speaker"), load_corpus(), "runs/ens")

Under `protocol="speaker"` (2 test speakers, 1 validation speaker, 4 training
speakers), nested:

1. Out-of-fold predictions: the development speakers (training + validation)
   are split into `member_folds` speaker-grouped folds; each member is trained
   on each fold and predicts the held-out speakers. `OutOfFoldPredictions`
   refuses any prediction for a clip the model trained on.
2. Tuning: KerasTuner searches how the weights are learned, scoring each
   trial by the UAR of predictions that neither the members nor the weights
   were fitted on, adapted to each speaker as the ensemble bundle will adapt
   them (on the members' graph vectors, from the same out-of-fold models).
   The temperature is then fitted by NLL, and, for an ensemble that adapts, a
   second one after adaptation (`kser.ensemble.joining`).
3. Final members: each trained on the training speakers, its checkpoint
   selected on the validation speaker, joined by the tuned combiner into one
   `WeightedEnsemble` bundle.
4. Test: the ensemble and every member, with reports (`kser.ensemble.scoring`).

Under `protocol="loso"` (the default) it is cross-fitted instead: each member
is trained once per LOSO fold, which predicts every speaker out of fold; the
ensemble tested on speaker s joins the members' fold-s models with a combiner
tuned on the other speakers' out-of-fold predictions. Neither the members nor
the combiner of fold s ever saw speaker s, and the run costs members x
speakers trainings.

Writes into `run_dir` (per fold for loso): `ensemble/` (the bundle),
report.md/.html with metrics.json, weights.png, reliability.png and
reliability_before_temperature.png, ensemble.json (members vs ensemble,
weights, temperatures, ECE, tuning trials); and members/ (every fold and final
member run, each a bundle with its report), oof/, tuner/, config.json, and for
several loso folds summary.json. Run it again into the same directory and
finished folds, members and trials are kept; an interrupted training resumes
from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from kser.ensemble.config import EnsembleConfig
from kser.ensemble.joining import join_members
from kser.ensemble.members import (
    collect_out_of_fold,
    load_member,
    out_of_fold_graph,
    train_member,
)
from kser.ensemble.out_of_fold import OutOfFoldPredictions
from kser.ensemble.scoring import format_summary, score_on_test
from kser.ensemble.speaker_folds import MemberFold, member_folds
from kser.paths import atomic_write_json
from kser.training.run import cached_features, selected_splits
from kser.training.run_directory import CONFIG_FILE, SUMMARY_FILE, check_run_directory


def run_ensemble(
    config: EnsembleConfig, corpus, run_dir, *, cache_root=None, verbose: int = 2
) -> list[dict]:
    """Build, test and report the ensemble `config` describes on `corpus`, into `run_dir`.

    `corpus`: a `kser.data.Corpus`. `verbose`: 0 silent, 2 a line per epoch
    and each split's scores (features show a progress bar unless 0).

    Returns each tested split's summary (what its ensemble.json holds).

    Raises:
        KserConfigError: `run_dir` holds a run of other settings, or
            `config.folds` names a fold the protocol does not have.
    """
    from kser.data import make_splits
    from kser.training.trainer import seed_everything

    # Deterministic ops from the start: a resumed run may train nothing, yet its combiner
    # fits must add up in the same order as a fresh run's (trial scores tie to 1e-4).
    seed_everything(config.seed)
    run_dir = Path(run_dir)
    splits = make_splits(corpus, config.protocol, config.seed)
    outer_splits = selected_splits(splits, config.folds)
    # Resuming with other settings would mix the folds, members and trials of two runs.
    check_run_directory(run_dir, config, finished_ok=True)
    atomic_write_json(run_dir / CONFIG_FILE, dataclasses.asdict(config))
    feature_sets = member_features(corpus, config, cache_root, verbose)
    run = _Run(corpus, config, feature_sets, verbose)
    if config.protocol == "loso":
        summaries = run.cross_fitted(splits, outer_splits, run_dir)
    else:
        (split,) = outer_splits
        summaries = [run.nested(split, run_dir)]
    if len(summaries) > 1:
        write_fold_summary(run_dir, summaries, outer_splits, verbose)
    return summaries


def member_features(corpus, config: EnsembleConfig, cache_root=None, verbose: int = 2) -> dict:
    """`{feature: (extractor, FeatureSet)}` of the members' features, cached."""
    features = {}
    for member in config.members:
        if member.feature not in features:
            features[member.feature] = cached_features(
                corpus, member.config, cache_root, verbose=int(verbose > 0)
            )
    return features


@dataclasses.dataclass
class _Run:
    """What every step of one ensemble run reads: the corpus, config and features."""

    corpus: object
    config: EnsembleConfig
    features: dict
    verbose: int

    @property
    def extractors(self) -> dict:
        return {name: extractor for name, (extractor, _) in self.features.items()}

    @property
    def feature_sets(self) -> dict:
        return {name: feature_set for name, (_, feature_set) in self.features.items()}

    def nested(self, split, directory) -> dict:
        """Member folds within `split`'s development speakers, tuning, final members, test."""
        folds = member_folds(
            self.corpus,
            np.union1d(split.train, split.val),
            n_folds=self.config.member_folds,
            seed=self.config.seed,
        )
        member_logits = self.out_of_fold_logits(folds, directory)
        finals = {}
        for member in self.config.members:
            if self.verbose:
                print(f"kser: member {member.name}: final training on {split.name}")
            finals[member.name] = train_member(
                self.corpus,
                member,
                split,
                directory / "members" / member.name / "final",
                self.extractors[member.feature],
                self.feature_sets[member.feature],
                self.verbose,
            )
        return self.finish_split(split, member_logits, finals, directory)

    def cross_fitted(self, splits, outer_splits, run_dir) -> list[dict]:
        """Leave-one-speaker-out with one model per member and fold, cross-fitted combiners.

        Every member is trained once per LOSO fold (its test speaker held out,
        its validation speaker selecting the checkpoint), which gives each
        speaker's clips an out-of-fold prediction. The ensemble tested on
        speaker s joins the members' fold-s models with a combiner tuned on the
        other speakers' out-of-fold predictions only. Nested folds would cost
        6x the training for the same guarantee on the test speaker. Members
        train on all `splits` (each is some other fold's tuning data);
        `outer_splits` are the folds tested.
        """
        folds = [MemberFold(split.name, split.train, split.val, split.test) for split in splits]
        member_logits = self.out_of_fold_logits(folds, run_dir)
        summaries = []
        for split in outer_splits:
            finals = {
                member.name: load_member(run_dir / "members" / member.name / split.name)
                for member in self.config.members
            }
            others = member_logits.subset(member_logits.folds != split.name)
            summaries.append(self.finish_split(split, others, finals, run_dir / split.name))
        return summaries

    def out_of_fold_logits(self, folds, directory):
        """Every member trained on every fold (into `directory/members`, resumable); their
        out-of-fold logits (kept in `directory/oof`) side by side, with the graph vectors the
        ensemble adapts on when its members adapt to each speaker."""
        members = self.config.members
        out_of_fold = OutOfFoldPredictions(len(self.corpus.labels), directory / "oof")
        collect_out_of_fold(
            self.corpus,
            members,
            folds,
            self.extractors,
            self.feature_sets,
            out_of_fold,
            directory / "members",
            self.verbose,
        )
        member_logits = out_of_fold.member_logits([member.name for member in members])
        if not self.config.adapts_to_speakers:
            return member_logits
        graph = out_of_fold_graph(member_logits, members, self.feature_sets, directory / "members")
        return dataclasses.replace(member_logits, graph=graph)

    def finish_split(self, split, member_logits, finals, directory) -> dict:
        """Tune the combiner on `member_logits` (out of fold), join `finals`, test, report."""
        from kser.training import save_bundle

        corpus, seed = self.corpus, self.config.seed
        bundle, development = join_members(
            corpus,
            member_logits,
            finals,
            directory / "tuner",
            max_trials=self.config.max_trials,
            seed=seed,
        )
        bundle.info["protocol"] = split.protocol
        summary = {
            "split": split.name,
            "test_speakers": sorted(corpus.manifest["speaker"].iloc[split.test].unique().tolist()),
            **score_on_test(corpus, split, bundle, finals, self.feature_sets, directory, seed),
            "out_of_fold": {"folds": sorted(set(member_logits.folds.tolist())), **development},
        }
        bundle.info["metrics"] = summary["ensemble"]
        save_bundle(bundle, directory / "ensemble", split=split, corpus=corpus)
        atomic_write_json(directory / "ensemble.json", summary)
        if self.verbose:
            print(format_summary(summary))
        return summary


def write_fold_summary(run_dir, summaries, splits, verbose: int = 2) -> None:
    """summary.json: mean ± std over outer folds for the ensemble and each member (loso)."""
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
        run_dir / SUMMARY_FILE,
        {
            "ensemble": ensemble,
            "member_mean_uar": member_means,
            "best_member": best,
            "uar_gain_over_best_member": ensemble["uar"]["mean"] - member_means[best],
        },
    )
    if verbose:
        print(
            f"kser: mean UAR over {len(splits)} folds: ensemble {ensemble['uar']['mean']:.3f}, "
            f"best member {best} {member_means[best]:.3f}"
        )
