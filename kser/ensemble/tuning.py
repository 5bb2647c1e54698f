"""KerasTuner Bayesian optimisation of how the ensemble's weights are learned.

Each trial picks the combiner's normalization, L1 strength, learning rate and
step count, learns the weights with them, and is scored by the UAR of
cross-fitted out-of-fold predictions: for each fold, a combiner fitted on the
other folds' rows predicts that fold's rows, whose members never trained on
them either. So a trial's score says how well the ensemble does on speakers
that neither its members nor its weights were fitted on.

When the ensemble will adapt to each speaker, trials are scored as it will
predict: the cross-fitted probabilities are adapted (`AdaptedUar`) before the
UAR is taken. The weights that predict best clip by clip are not always those
that adapt best: a member whose embedding groups a speaker's clips well helps
adaptation more than its own UAR shows.

The temperature is not searched here: UAR cannot see it (it does not change
the argmax), so it is fitted by NLL afterwards (`combiner.fit_temperature`).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras_tuner
import numpy as np
from keras_tuner.engine.base_tuner import BaseTuner
from scipy.special import softmax

from kser.ensemble.combiner import cross_fitted_logits, uar_of_logits
from kser.inference.speaker_adaptation import SpeakerAdaptation

OBJECTIVE = "uar"
PROJECT_NAME = "combiner_search"


def combiner_search_space() -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    hp.Choice("normalization", ["softmax", "non_negative"])
    with hp.conditional_scope("normalization", ["non_negative"]):
        hp.Float("l1", 1e-4, 0.3, sampling="log")
    hp.Float("learning_rate", 0.005, 0.3, sampling="log")
    hp.Int("steps", 50, 400, step=50)
    return hp


def combiner_arguments(values: dict) -> dict:
    """`fit_combiner` keyword arguments from a trial's hyperparameter values."""
    return {
        "normalization": values["normalization"],
        "l1": float(values.get("l1") or 0.0) if values["normalization"] == "non_negative" else 0.0,
        "learning_rate": float(values["learning_rate"]),
        "steps": int(values["steps"]),
    }


@dataclass(frozen=True)
class AdaptedUar:
    """UAR of logits after `adaptation` over `graph` (vectors of the same rows) per speaker."""

    adaptation: SpeakerAdaptation
    graph: object
    speakers: np.ndarray

    def adapted(self, logits) -> np.ndarray:
        """The adapted probabilities of `logits` (rows as the graph's)."""
        return self.adaptation.apply(softmax(logits, axis=1), self.graph, self.speakers)

    def __call__(self, logits, labels) -> float:
        return uar_of_logits(self.adapted(logits), labels)  # it reads only the argmax


class CombinerTuner(BaseTuner):
    """Scores a trial by the cross-fitted out-of-fold UAR of the combiner it describes."""

    def run_trial(self, trial, member_logits, labels, score=uar_of_logits, **search_options):
        # `search_options`: what `search()` was called with besides the data (e.g. `verbose`).
        try:
            combined = cross_fitted_logits(
                member_logits, labels, **combiner_arguments(trial.hyperparameters.values)
            )
            return {OBJECTIVE: score(combined, labels)}
        except Exception as error:
            # KerasTuner would record the trial as failed and go on; a bug must stop the search.
            raise keras_tuner.errors.FatalError(f"combiner trial failed: {error}") from error


@dataclass(frozen=True)
class TuningResult:
    """The best trial's `fit_combiner` arguments and score, and every trial's."""

    arguments: dict
    uar: float
    trials: list[dict]


def tune_combiner(
    member_logits, labels, directory, *, max_trials: int = 30, seed: int = 42, score=uar_of_logits
):
    """Search the combiner's hyperparameters on out-of-fold predictions.

    Args:
        member_logits: `MemberLogits` (members' out-of-fold logits and folds).
        labels: class indices of `member_logits.rows`.
        directory: where KerasTuner keeps its trials; a search interrupted
            there resumes from the finished trials when called again.
        max_trials: trials in all (the first few are random, then Bayesian).
        seed: seeds the oracle, so the same inputs give the same search.
        score: `score(logits, labels)` of the cross-fitted logits: their UAR,
            or an `AdaptedUar`.
    """
    oracle = keras_tuner.oracles.BayesianOptimizationOracle(
        objective=keras_tuner.Objective(OBJECTIVE, direction="max"),
        max_trials=max_trials,
        seed=seed,
        hyperparameters=combiner_search_space(),
        allow_new_entries=False,
        tune_new_entries=False,
    )
    tuner = CombinerTuner(oracle, directory=str(directory), project_name=PROJECT_NAME)
    tuner.search(member_logits, labels, score=score, verbose=0)
    finished = sorted(
        (trial for trial in oracle.trials.values() if trial.score is not None),
        key=lambda trial: int(trial.trial_id),
    )
    trials = [
        {
            "trial": int(trial.trial_id),
            "arguments": combiner_arguments(trial.hyperparameters.values),
            OBJECTIVE: float(trial.score),
        }
        for trial in finished
    ]
    # max() keeps the first of equal scores: ties go to the earliest trial, run after run.
    best = max(trials, key=lambda trial: trial[OBJECTIVE])
    return TuningResult(best["arguments"], best[OBJECTIVE], trials)
