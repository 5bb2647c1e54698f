"""FGSM and PGD on a small trained synthetic model; the waveform chain; TensorFlow vs torch."""

from __future__ import annotations

import numpy as np
import pytest

from kser import features
from kser.adversarial import Attack, parse_attack
from kser.adversarial.gradients import input_gradient, per_example_loss
from kser.adversarial.waveform import SAMPLE_BOUNDS, WaveformChain, signal_to_perturbation_db
from kser.errors import KserBundleError
from kser.training import Bundle
from tests.adversarial.synthetic import synthetic_features, trained_classifier
from tests.helpers import run_under_torch, tone
from tests.training.helpers import make_bundle


@pytest.fixture(scope="module")
def trained():
    """`(model, held-out features, labels)`: the model is right on most of them."""
    model = trained_classifier()
    features_, labels = synthetic_features(n_per_class=20, seed=1)
    return model, features_, labels


def _loss(model, inputs, labels):
    return np.asarray(per_example_loss(model, inputs, labels))


def _gradient(model):
    return lambda inputs, labels: input_gradient(model, inputs, labels)


def _perturb(attack, model, inputs, labels, **options):
    return np.asarray(attack.perturb(_gradient(model), inputs, labels, **options))


def test_fgsm_raises_the_loss_and_moves_every_value_by_exactly_eps(trained):
    model, x, y = trained
    clean_loss = _loss(model, x, y)
    adversarial = _perturb(Attack("fgsm", 0.5), model, x, y)
    attacked_loss = _loss(model, adversarial, y)
    assert attacked_loss.mean() > 10 * clean_loss.mean()
    assert np.mean(attacked_loss > clean_loss) > 0.95  # a first-order step, nearly everywhere
    # Unbounded: every value moves by eps (a gradient exactly 0 would not move).
    assert np.allclose(np.abs(adversarial - x), 0.5, atol=1e-6)
    accuracy = np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y)
    attacked = np.mean(np.argmax(model.predict(adversarial, verbose=0), axis=1) == y)
    assert accuracy > 0.9 and attacked < accuracy - 0.1


def test_clipping_to_bounds_keeps_the_perturbation_within_eps(trained):
    model, x, y = trained
    adversarial = _perturb(Attack("fgsm", 0.5), model, x, y, bounds=(-1.0, 1.0))
    assert adversarial.min() >= -1.0 and adversarial.max() <= 1.0
    change = np.abs(adversarial - np.clip(x, -1.0, 1.0))
    inside = np.abs(x) < 0.5  # never clipped: moved by the full eps
    assert np.max(np.abs(adversarial - x)[inside]) == pytest.approx(0.5, abs=1e-6)
    assert np.allclose(change[inside], 0.5, atol=1e-6)


def test_pgd_is_at_least_as_strong_as_fgsm_and_stays_in_the_ball(trained):
    model, x, y = trained
    for eps in (0.1, 0.3, 0.6):
        fgsm = _loss(model, _perturb(Attack("fgsm", eps), model, x, y), y)
        adversarial = _perturb(Attack("pgd", eps, steps=10, seed=3), model, x, y)
        assert np.max(np.abs(adversarial - x)) <= eps + 1e-6
        assert _loss(model, adversarial, y).mean() >= fgsm.mean()


def test_pgd_random_start_is_seeded(trained):
    model, x, y = trained
    first = _perturb(Attack("pgd", 0.2, steps=2, seed=5), model, x, y)
    again = _perturb(Attack("pgd", 0.2, steps=2, seed=5), model, x, y)
    other = _perturb(Attack("pgd", 0.2, steps=2, seed=6), model, x, y)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("method", ["fgsm", "pgd"])
def test_eps_zero_changes_nothing(trained, method):
    model, x, y = trained
    np.testing.assert_array_equal(_perturb(Attack(method, 0.0), model, x, y), x)


def test_attack_specs_are_parsed_and_checked():
    assert parse_attack("fgsm:0.05") == Attack("fgsm", 0.05)
    assert parse_attack("PGD:0.1:7", seed=2) == Attack("pgd", 0.1, steps=7, seed=2)
    assert Attack("pgd", 0.1, steps=4).pgd_step_size == pytest.approx(2.5 * 0.1 / 4)
    for bad in ("fgsm", "cw:0.1", "fgsm:-1", "pgd:0.1:0", "pgd:x"):
        with pytest.raises(ValueError, match="METHOD:EPS"):
            parse_attack(bad)


@pytest.fixture(scope="module")
def tone_clips():
    """Four 1 s tones at amplitude 0.5 (never near the [-1, 1] bounds for small eps)."""
    return np.stack([tone(200.0 + 60 * k, seconds=1.0) for k in range(4)])


def test_waveform_fgsm_snr_is_the_reported_and_the_analytic_figure(tone_clips):
    bundle = make_bundle()
    chain = WaveformChain(bundle, tone_clips, np.array(["a", "a", "b", "b"]))
    labels = np.array([0, 1, 2, 3], dtype=np.int32)
    eps = 0.001
    adversarial = np.asarray(
        Attack("fgsm", eps).perturb(
            chain.gradient_at(np.arange(4)), tone_clips, labels, bounds=SAMPLE_BOUNDS
        )
    )
    snr = signal_to_perturbation_db(tone_clips, adversarial)
    # Every sample moved by +-eps: SNR = 10 log10(mean power / eps^2).
    expected = 10 * np.log10(np.mean(tone_clips.astype(np.float64) ** 2, axis=1) / eps**2)
    np.testing.assert_allclose(snr, expected, atol=0.05)
    assert np.max(np.abs(adversarial - tone_clips)) == pytest.approx(eps, rel=1e-3)
    # The chain's clean inputs are the bundle's own normalization of the clean features.
    clean_inputs = np.asarray(chain.normalized_features(tone_clips, np.arange(4)))
    reference = bundle.normalizer.transform(bundle._extract(tone_clips), ["a", "a", "b", "b"])
    np.testing.assert_allclose(clean_inputs, reference, atol=1e-4)
    loss = _loss(bundle.model, reference, labels)
    attacked = np.asarray(chain.normalized_features(adversarial, np.arange(4)))
    assert _loss(bundle.model, attacked, labels).mean() > loss.mean()


def test_a_feature_without_waveform_gradient_is_refused(tone_clips):
    bundle = make_bundle()
    zcr = features.get("zcr")
    flat = Bundle(bundle.model, zcr, bundle.normalizer, bundle.labels, bundle.clip_seconds)
    with pytest.raises(KserBundleError, match="'zcr' passes no gradient to the waveform"):
        WaveformChain(flat, tone_clips, np.zeros(4))


def test_tensorflow_and_torch_give_the_same_attack_directions(trained, tone_clips, tmp_path):
    pytest.importorskip("torch", reason="the torch backend needs torch")
    model, x, y = trained
    model.save(tmp_path / "model.keras")
    bundle = make_bundle()
    bundle.model.save(tmp_path / "bundle_model.keras")
    labels = np.array([0, 1, 2, 3], dtype=np.int32)
    chain = WaveformChain(bundle, tone_clips, np.zeros(4))
    wave_gradient = np.asarray(chain.gradient_at(np.arange(4))(tone_clips, labels))
    np.savez(
        tmp_path / "inputs.npz",
        x=x,
        y=y,
        feature_sign=np.sign(np.asarray(input_gradient(model, x, y))),
        pgd=_perturb(Attack("pgd", 0.2, steps=3, seed=1, random_start=False), model, x, y),
        waves=tone_clips,
        wave_labels=labels,
        wave_sign=np.sign(wave_gradient),
    )
    stdout = run_under_torch("tests.adversarial.torch_checks", tmp_path)
    agreement = dict(line.split("=") for line in stdout.split() if "=" in line)
    assert float(agreement["feature_sign_agreement"]) >= 0.99
    assert float(agreement["waveform_sign_agreement"]) >= 0.99
    assert float(agreement["pgd_agreement"]) >= 0.99
    assert float(agreement["adversarial_training_loss"]) > 0
