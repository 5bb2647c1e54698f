"""Ensemble members: per-feature models trained fold by fold, then joined into one bundle.

A member is an `ExperimentConfig` (one feature, one architecture, its
training settings). It is trained with the shared experiment runner, so every
fold model is a complete bundle with its own test report on the clips it
held out. Training is resumable at two levels: a finished fold (its bundle
and out-of-fold predictions on disk) is skipped, and an interrupted one
resumes from its checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np

from kser.data.splits import Split
from kser.errors import KserBundleError
from kser.inference.bundle import Bundle, load_bundle
from kser.inference.speaker_adaptation import SpeakerAdaptation, member_graph_vectors
from kser.models.weighted_ensemble import WeightedEnsemble
from kser.training.cross_validation import split_is_complete
from kser.training.run import ExperimentConfig, run_split

# How an ensemble adapts to each speaker when its members do: on their graph vectors joined.
ENSEMBLE_ADAPTATION = SpeakerAdaptation(graph="members")


@dataclass(frozen=True)
class Member:
    """One member: a model on one feature, trained with `config`."""

    config: ExperimentConfig

    @property
    def name(self) -> str:
        # Differs from the feature name, which names the ensemble's input.
        return f"{self.config.feature}_{self.config.model}"

    @property
    def feature(self) -> str:
        return self.config.feature


def train_member(corpus, member, split, directory, extractor, feature_set, verbose=0) -> Bundle:
    """`member` trained on `split.train`, selected on `split.val`, scored on `split.test`.

    Writes the run (report, checkpoints, `bundle/`) into `directory`; a
    finished run there is loaded instead of trained again, if it was made from
    the same feature parameters (else `KserBundleError`).
    """
    directory = Path(directory)
    if not split_is_complete(directory):
        run_split(
            corpus=corpus,
            config=member.config,
            split=split,
            split_dir=directory,
            extractor=extractor,
            feature_set=feature_set,
            verbose=verbose,
        )
        return load_bundle(directory / "bundle")
    bundle = load_bundle(directory / "bundle")
    # A finished run is reused only if it read the same feature values: a
    # feature whose defaults changed since would otherwise mix old and new.
    if (bundle.extractor.name, bundle.extractor.params) != (extractor.name, extractor.params):
        raise KserBundleError(
            f"{directory}: this {member.name} run was made from other feature parameters "
            f"({bundle.extractor.name} {bundle.extractor.params}, now {extractor.name} "
            f"{extractor.params}); delete it or pick another run directory"
        )
    return bundle


def load_member(directory) -> Bundle:
    """The bundle of a member run that `train_member` finished in `directory`."""
    directory = Path(directory)
    if not split_is_complete(directory):
        raise KserBundleError(f"{directory}: the member's training has not finished")
    return load_bundle(directory / "bundle")


def member_inputs(bundle: Bundle, feature_set, rows) -> np.ndarray:
    """The member's model inputs for manifest `rows`, normalized as in training.

    Per-speaker statistics come from the clips of each speaker among `rows`,
    as at test time (labels are never used).
    """
    return bundle.normalizer.transform(feature_set.as_numpy()[rows], feature_set.speakers[rows])


def member_logits(bundle: Bundle, feature_set, rows, batch_size: int = 64) -> np.ndarray:
    """The member's logits `(len(rows), n_labels)` for manifest `rows`."""
    return keras.ops.convert_to_numpy(
        bundle.model.predict(
            member_inputs(bundle, feature_set, rows), batch_size=batch_size, verbose=0
        )
    )


def out_of_fold_graph(predictions, members, feature_sets, directory) -> dict:
    """The graph vectors an ensemble of `members` adapts on, for the rows of `predictions`.

    Each row's vectors come from the fold model that predicted it out of fold
    (`directory/<member>/<fold>/`), so the tuner scores adapted predictions
    built only from models that never saw the row. Keys as `graph_vectors`
    gives them for the ensemble.
    """
    joined = {}
    for member in members:
        for fold in np.unique(predictions.folds):
            held_out = predictions.folds == fold
            bundle = load_member(Path(directory) / member.name / fold)
            vectors = member_graph_vectors(
                bundle.model,
                member.name,
                member.feature,
                member_inputs(bundle, feature_sets[member.feature], predictions.rows[held_out]),
            )
            for key, values in vectors.items():
                values = np.asarray(values, dtype=np.float32)
                if key not in joined:
                    joined[key] = np.zeros((len(predictions.rows), *values.shape[1:]), np.float32)
                joined[key][held_out] = values
    return joined


def collect_out_of_fold(
    corpus, members, folds, extractors, feature_sets, out_of_fold, directory, verbose=0
):
    """Train every member on every fold it lacks and record its out-of-fold logits.

    `extractors` and `feature_sets` are keyed by feature name; `out_of_fold` is
    an `OutOfFoldPredictions` (directory-backed for a resumable run). Fold
    models go to `directory/<member>/<fold>/`.
    """
    for member in members:
        for fold in folds:
            if out_of_fold.has(member.name, fold.name):
                continue
            if verbose:
                print(f"kser: member {member.name}, {fold.name}: training")
            split = Split(
                fold.name, "member-fold", member.config.seed, fold.train, fold.val, fold.holdout
            )
            bundle = train_member(
                corpus,
                member,
                split,
                Path(directory) / member.name / fold.name,
                extractors[member.feature],
                feature_sets[member.feature],
                verbose,
            )
            out_of_fold.add(
                member.name,
                fold.name,
                rows=fold.holdout,
                logits=member_logits(bundle, feature_sets[member.feature], fold.holdout),
                trained_on=fold.trained_on,
            )


def renamed(model: keras.Model, name: str) -> keras.Model:
    """A copy of `model` named `name` (the ensemble needs unique member names)."""
    copy = type(model).from_config({**model.get_config(), "name": name})
    copy.set_weights(model.get_weights())
    return copy


def ensemble_bundle(
    member_bundles: dict,
    *,
    normalization: str,
    l1: float,
    weight_logits,
    temperature: float,
    adaptation_temperature: float = 1.0,
    info=None,
) -> Bundle:
    """One multi-input bundle of a `WeightedEnsemble` over trained single-feature bundles.

    Args:
        member_bundles: `{member name: Bundle}`; the ensemble reads each
            member's feature by the feature's name.
        normalization, l1: of the combiner (see `WeightedLogits`).
        weight_logits: the combiner's trained `member_weights` variable, in
            `member_bundles` order.
        temperature: the combiner's temperature.
        adaptation_temperature: the temperature of its speaker adaptation
            (see `SpeakerAdaptation`), if it adapts.
        info: extra facts for bundle.json.

    The ensemble adapts to each speaker (`SpeakerAdaptation` on its members'
    graph vectors joined) when any member does, so that it is scored on the
    same terms as its members.
    """
    extractors, normalizers, members, features = {}, {}, [], []
    first = next(iter(member_bundles.values()))
    for name, bundle in member_bundles.items():
        feature = bundle.extractor.name
        if feature in normalizers and (
            normalizers[feature].get_config() != bundle.normalizer.get_config()
            or extractors[feature].params != bundle.extractor.params
        ):
            raise KserBundleError(
                f"members reading feature {feature!r} must share its parameters and "
                f"normalization; member {name!r} differs"
            )
        if bundle.labels != first.labels or bundle.clip_seconds != first.clip_seconds:
            raise KserBundleError(
                f"member {name!r} has labels {bundle.labels} and {bundle.clip_seconds} s clips; "
                f"the first member has {first.labels} and {first.clip_seconds} s"
            )
        extractors[feature], normalizers[feature] = bundle.extractor, bundle.normalizer
        members.append(renamed(bundle.model, name))
        features.append(feature)
    ensemble = WeightedEnsemble(members, features, normalization=normalization, l1=l1)
    ensemble.combiner.weight_logits.assign(np.asarray(weight_logits, dtype="float32"))
    ensemble.combiner.set_temperature(temperature)
    bundle = Bundle(
        model=ensemble,
        extractors=extractors,
        normalizers=normalizers,
        labels=first.labels,
        clip_seconds=first.clip_seconds,
        info=dict(info or {}),
    )
    if any(member.speaker_adaptation for member in member_bundles.values()):
        bundle = bundle.with_speaker_adaptation(
            replace(ENSEMBLE_ADAPTATION, temperature=adaptation_temperature)
        )
    return bundle
