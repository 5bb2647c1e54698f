"""KerasTuner search over the combiner's hyperparameters."""

import numpy as np
import pytest

import kser.ensemble.tuning as tuning
from kser.ensemble import MemberLogits, tune_combiner, uar_of_logits
from kser.ensemble.tuning import combiner_arguments
from tests.ensemble.synthetic import NUM_CLASSES, informative_logits, noise_logits


def synthetic_stacked(n=240):
    labels = np.random.default_rng(0).integers(0, NUM_CLASSES, n)
    logits = np.stack([informative_logits(labels, strength=2.0), noise_logits(n)], axis=1)
    folds = np.array([f"fold-{i % 3}" for i in range(n)])
    return MemberLogits(("good", "noise"), np.arange(n), logits, folds), labels


def test_search_learns_to_trust_the_informative_member_and_resumes(tmp_path, monkeypatch):
    member_logits, labels = synthetic_stacked()
    calls = []
    original = tuning.CombinerTuner.run_trial

    def counting_run_trial(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(tuning.CombinerTuner, "run_trial", counting_run_trial)
    result = tune_combiner(member_logits, labels, tmp_path, max_trials=3, seed=0)
    assert len(calls) == 3 and len(result.trials) == 3
    assert result.uar == max(trial["uar"] for trial in result.trials)
    good_alone = uar_of_logits(member_logits.logits[:, 0], labels)
    noise_alone = uar_of_logits(member_logits.logits[:, 1], labels)
    assert result.uar > good_alone - 0.03, (result.uar, good_alone)
    assert result.uar > noise_alone + 0.3, (result.uar, noise_alone)
    assert result.arguments["normalization"] in ("softmax", "non_negative")

    # The same directory: finished trials are reloaded, not rerun; the best stays the best.
    again = tune_combiner(member_logits, labels, tmp_path, max_trials=3, seed=0)
    assert len(calls) == 3
    assert again.arguments == result.arguments and again.uar == result.uar


def test_l1_only_reaches_the_combiner_with_non_negative_weights():
    softmax = combiner_arguments(
        {"normalization": "softmax", "learning_rate": 0.1, "steps": 100, "l1": 0.2}
    )
    non_negative = combiner_arguments(
        {"normalization": "non_negative", "learning_rate": 0.1, "steps": 100, "l1": 0.2}
    )
    assert softmax["l1"] == 0.0 and non_negative["l1"] == 0.2


def test_trials_are_scored_after_speaker_adaptation_when_given_a_graph(tmp_path):
    """With a graph whose neighbours share an emotion, adaptation fixes odd mistakes;
    the tuner's scores must be those adapted UARs, not the clip-by-clip ones."""
    from kser.ensemble import AdaptedUar, cross_fitted_logits
    from kser.inference.speaker_adaptation import SpeakerAdaptation

    member_logits, labels = synthetic_stacked()
    member_logits = MemberLogits(
        member_logits.members,
        member_logits.rows,
        np.stack([informative_logits(labels, strength=1.0), noise_logits(len(labels))], axis=1),
        member_logits.folds,
    )
    rng = np.random.default_rng(3)
    graph = np.eye(NUM_CLASSES)[labels] * 4.0 + rng.normal(size=(len(labels), NUM_CLASSES))
    speakers = np.array([f"S{i % 4}" for i in range(len(labels))])
    score = AdaptedUar(SpeakerAdaptation(), graph, speakers)
    result = tune_combiner(member_logits, labels, tmp_path, max_trials=3, seed=0, score=score)

    for trial in result.trials:
        combined = cross_fitted_logits(member_logits, labels, **trial["arguments"])
        assert trial["uar"] == pytest.approx(score(combined, labels))
        assert trial["uar"] > uar_of_logits(combined, labels) + 0.1
