"""Adversarial training (`train(..., adversarial_training=...)`) buys robustness."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from kser.adversarial import Attack
from kser.adversarial.gradients import input_gradient
from kser.adversarial.training import AdversarialTraining
from kser.training import ExperimentConfig, seed_everything, train

SHAPE = (4, 6)


def _robust_and_fragile_features(n, seed):
    """Two classes: one value shifted by +-1 (robust to eps 0.3) and 23 values shifted by
    +-0.15 (together more telling, but each flipped by eps 0.3), noise std 0.4."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype(np.int32)
    shift = np.full(SHAPE, 0.15)
    shift[0, 0] = 1.0
    features = (2 * labels - 1)[:, None, None] * shift + 0.4 * rng.normal(size=(n, *SHAPE))
    return features.astype(np.float32), labels


def _classifier():
    seed_everything(0)
    inputs = keras.Input(SHAPE)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(16, activation="tanh")(x)
    return keras.Model(inputs, keras.layers.Dense(2, name="logits")(x))


def _accuracy(model, features, labels):
    return float(np.mean(np.argmax(model.predict(features, verbose=0), axis=1) == labels))


def test_fgsm_training_keeps_clean_accuracy_and_resists_the_attack(tmp_path):
    features, labels = _robust_and_fragile_features(200, seed=0)
    test_features, test_labels = _robust_and_fragile_features(200, seed=1)
    data = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(200, seed=0).batch(20)
    val = tf.data.Dataset.from_tensor_slices((test_features, test_labels)).batch(50)
    attack = Attack("fgsm", 0.3)
    scores = {}
    for name, training_attack in (("clean", None), ("adversarial", attack)):
        model = _classifier()
        train(
            model,
            data,
            val,
            run_dir=tmp_path / name,
            epochs=10,
            learning_rate=1e-2,
            verbose=0,
            adversarial_training=training_attack,
        )
        # The caller's model holds the trained weights; the wrapper stays inside `train`.
        assert not isinstance(model, AdversarialTraining)
        attacked = np.asarray(
            attack.perturb(
                lambda x, y, model=model: input_gradient(model, x, y), test_features, test_labels
            )
        )
        scores[name] = (
            _accuracy(model, test_features, test_labels),
            _accuracy(model, attacked, test_labels),
        )
    (clean_clean, clean_attacked), (adversarial_clean, adversarial_attacked) = scores.values()
    assert clean_clean > 0.95 and adversarial_clean > clean_clean - 0.02
    assert clean_attacked < 0.5  # the fragile values carry the clean model
    assert adversarial_attacked > clean_attacked + 0.2


def test_config_checks_the_adversarial_training_spec():
    config = ExperimentConfig(adversarial_training="pgd:0.05:3", seed=7)
    assert config.training_attack() == Attack("pgd", 0.05, steps=3, seed=7)
    assert ExperimentConfig().training_attack() is None
    with pytest.raises(ValueError, match="METHOD:EPS"):
        ExperimentConfig(adversarial_training="fgsm")
