"""Fitting the combiner's weights and temperature on the members' logits."""

import numpy as np

from kser.ensemble import (
    MemberLogits,
    combined_logits,
    cross_fitted_logits,
    fit_combiner,
    fit_temperature,
    negative_log_likelihood,
    uar_of_logits,
)
from kser.ensemble.combiner import balanced_sample_weights
from kser.evaluation.calibration import expected_calibration_error, reliability_bins
from tests.ensemble.synthetic import NUM_CLASSES, informative_logits, noise_logits


def probabilities(logits):
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def test_fit_combiner_weights_the_informative_member_and_beats_the_noise():
    labels = np.random.default_rng(0).integers(0, NUM_CLASSES, 300)
    logits = np.stack([noise_logits(300), informative_logits(labels)], axis=1)
    combiner = fit_combiner(logits, labels, normalization="softmax", steps=100)
    weights = np.asarray(combiner.mixing_weights())
    assert weights[1] > 0.8, weights
    assert uar_of_logits(combined_logits(combiner, logits), labels) > 0.9


def test_cross_fitting_never_scores_a_fold_with_a_combiner_fitted_on_it():
    # Member 0 is informative in fold "a" only, member 1 in fold "b" only. A combiner fitted on
    # one fold trusts the wrong member on the other, so honest cross-fitted scores are poor
    # while a combiner fitted on all rows (and scored on them) looks good.
    rng = np.random.default_rng(1)
    labels = rng.integers(0, NUM_CLASSES, 400)
    folds = np.repeat(["a", "b"], 200)
    good = informative_logits(labels, strength=4.0)
    bad = noise_logits(400)
    member0 = np.where((folds == "a")[:, None], good, bad)
    member1 = np.where((folds == "b")[:, None], good, bad)
    member_logits = MemberLogits(
        ("m0", "m1"), np.arange(400), np.stack([member0, member1], axis=1), folds
    )
    arguments = {"normalization": "non_negative", "steps": 150, "learning_rate": 0.05}
    honest = uar_of_logits(cross_fitted_logits(member_logits, labels, **arguments), labels)
    in_sample = fit_combiner(member_logits.logits, labels, **arguments)
    optimistic = uar_of_logits(combined_logits(in_sample, member_logits.logits), labels)
    assert honest < 0.45 < optimistic, (honest, optimistic)


def test_fit_temperature_recovers_overconfidence_and_keeps_the_argmax():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, NUM_CLASSES, 2000)
    # z = noise + s * one_hot(label) with unit Gaussian noise has posterior softmax(s * z).
    calibrated = 1.5 * informative_logits(labels, strength=1.5, seed=3)
    overconfident = 4.0 * calibrated
    temperature = fit_temperature(overconfident, labels)
    assert 3.5 < temperature < 4.5, temperature
    rescaled = overconfident / temperature
    np.testing.assert_array_equal(rescaled.argmax(axis=1), overconfident.argmax(axis=1))
    nll = negative_log_likelihood
    assert nll(rescaled, labels) < nll(overconfident, labels)

    def ece(logits):
        return expected_calibration_error(reliability_bins(labels, probabilities(logits), 15))

    assert ece(rescaled) < 0.5 * ece(overconfident), (ece(rescaled), ece(overconfident))


def test_balanced_sample_weights_give_every_class_the_same_total_weight():
    labels = np.array([0, 0, 0, 1, 2, 2])
    weights = balanced_sample_weights(labels)
    totals = [weights[labels == c].sum() for c in range(3)]
    np.testing.assert_allclose(totals, [2.0, 2.0, 2.0])
