"""What an ensemble run is made of: its members and its settings, checked up front.

config = EnsembleConfig(members=ensemble_members("functionals,prosody:kernel"))
config = EnsembleConfig(protocol="speaker", member_folds=5, max_trials=30)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from kser.ensemble.members import Member
from kser.errors import KserConfigError
from kser.training.run import ExperimentConfig, default_model

# Members are "feature" (with its usual model) or "feature:model". kser's best
# single model (prosody fusion on utterance functionals), an RBF kernel
# classifier on the 19 prosodic values alone (its mistakes differ from the
# fusion model's MLP on them), the 1-D CNN over the frames of the default
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
# Each member is `kser train`'s recipe for its feature (a functionals model: seconds
# per training; a 1-D CNN: 1-2 minutes on 2 CPU cores). Under the default loso
# protocol that is 4 members x 7 folds = 28 trainings, under an hour with tuning.
MEMBER_CONFIG = ExperimentConfig(protocol="loso")
# The protocols the workflow knows: nested folds in one split, or cross-fitted LOSO.
ENSEMBLE_PROTOCOLS = ("speaker", "loso")


def ensemble_members(
    specs=DEFAULT_MEMBERS,
    *,
    base: ExperimentConfig = MEMBER_CONFIG,
    model: str | None = None,
    epochs: int | None = None,
    feature_params: dict | None = None,
) -> tuple[Member, ...]:
    """The members `specs` names ("feature[:model]", a list or comma-separated).

    A member's model is the one its spec names, else `model`, else the
    feature's usual architecture. Each member is `base` on its feature, with
    `feature_params` (`{feature: params}`) and `epochs` (None: the model's
    usual number); `base.model_params` go to the members of `base.model` only.

    Raises:
        KserConfigError: no spec, or one naming an unknown feature, model or parameter.
    """
    if isinstance(specs, str):
        specs = specs.split(",")
    names = [spec.strip() for spec in specs if spec.strip()]
    if not names:
        raise KserConfigError(f"an ensemble needs at least one member. Received: {specs!r}")
    members = []
    for spec in names:
        feature, _, named = spec.partition(":")
        chosen = named or model or default_model(feature)
        config = dataclasses.replace(
            base,
            feature=feature,
            feature_params=(feature_params or {}).get(feature, {}),
            model=chosen,
            model_params=base.model_params if chosen == base.model else {},
            epochs=epochs,
        )
        members.append(Member(config))
    return tuple(members)


def ranked_features(run_dirs, top_k: int) -> list[str]:
    """The features of the best `top_k` runs among `run_dirs`, by test UAR.

    A directory without metrics.json stands for every run directly in it.
    """
    from kser.evaluation import compare_runs

    found = []
    for path in map(Path, run_dirs):
        found += (
            [path]
            if (path / "metrics.json").is_file()
            else sorted(metrics.parent for metrics in path.glob("*/metrics.json"))
        )
    ranked = []
    for row in compare_runs(found).rows:
        if row["feature"] and row["feature"] not in ranked:
            ranked.append(row["feature"])
    return ranked[:top_k]


@dataclass(frozen=True)
class EnsembleConfig:
    """One ensemble run: its members and how they are cross-fitted, tuned and tested.

    `members`: `Member`s (`ensemble_members`); each trains with its own
    config, whose protocol and seed are set to the ensemble's.
    `protocol`: "loso" (cross-fitted: one model per member and speaker) or
    "speaker" (one test split; nested `member_folds` speaker-grouped folds of
    its development speakers). `folds`: the outer loso folds to test (None:
    every one; members still train on every fold, as each is another fold's
    tuning data). `max_trials`: KerasTuner's trials for the combiner.

    Every option is checked when the config is made (`KserConfigError`
    naming it), before any data is read.
    """

    members: tuple[Member, ...] = field(default_factory=ensemble_members)
    protocol: str = "loso"
    folds: tuple[str, ...] | None = None
    member_folds: int = 5
    max_trials: int = 30
    seed: int = MEMBER_CONFIG.seed

    def __post_init__(self):
        if self.protocol not in ENSEMBLE_PROTOCOLS:
            raise KserConfigError(
                f"protocol must be one of {', '.join(ENSEMBLE_PROTOCOLS)}. "
                f"Received: protocol={self.protocol!r}"
            )
        for name, smallest in (("member_folds", 2), ("max_trials", 1), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
                raise KserConfigError(
                    f"{name} must be a whole number of at least {smallest}. "
                    f"Received: {name}={value!r}"
                )
        members = tuple(self.members)
        if not members or not all(isinstance(member, Member) for member in members):
            raise KserConfigError(
                "members must be one or more kser.ensemble.Member (see ensemble_members). "
                f"Received: members={self.members!r}"
            )
        names = [member.name for member in members]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise KserConfigError(
                f"members must differ in feature or model; {repeated} repeat. "
                f"Received: members={names}"
            )
        if self.folds is not None and (
            isinstance(self.folds, str) or not all(isinstance(f, str) for f in self.folds)
        ):
            raise KserConfigError(f"folds must be fold names. Received: folds={self.folds!r}")
        # Members split and seed as the ensemble does (their runs record both).
        aligned = tuple(
            Member(dataclasses.replace(m.config, protocol=self.protocol, seed=self.seed))
            for m in members
        )
        object.__setattr__(self, "members", aligned)
        if self.folds is not None:
            object.__setattr__(self, "folds", tuple(self.folds))

    @property
    def adapts_to_speakers(self) -> bool:
        """Whether the ensemble adapts to each speaker (then it is tuned on adapted scores)."""
        return any(member.config.speaker_adaptation for member in self.members)
