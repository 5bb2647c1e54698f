"""Run under KERAS_BACKEND=torch by test_attacks.py: the same gradients on the same weights.

    python -m tests.adversarial.torch_checks DIR

DIR holds what the TensorFlow side saved (models, inputs, its gradient signs and a
PGD result). Prints `name=value` pairs that the test compares.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kser.adversarial import Attack
from kser.adversarial.gradients import input_gradient
from kser.adversarial.waveform import WaveformChain
from kser.training import train
from tests.adversarial.synthetic import small_classifier, synthetic_features
from tests.training.helpers import make_bundle


def main(directory: Path) -> int:
    assert keras.backend.backend() == "torch", keras.backend.backend()
    saved = np.load(directory / "inputs.npz")
    x, y = saved["x"], saved["y"]
    model = keras.saving.load_model(directory / "model.keras")
    sign = np.sign(keras.ops.convert_to_numpy(input_gradient(model, x, y)))
    print(f"feature_sign_agreement={np.mean(sign == saved['feature_sign']):.6f}")

    attack = Attack("pgd", 0.2, steps=3, seed=1, random_start=False)
    pgd = keras.ops.convert_to_numpy(
        attack.perturb(lambda inputs, labels: input_gradient(model, inputs, labels), x, y)
    )
    print(f"pgd_agreement={np.mean(np.abs(pgd - saved['pgd']) < 1e-4):.6f}")

    bundle = dataclasses.replace(
        make_bundle(), model=keras.saving.load_model(directory / "bundle_model.keras")
    )
    waves = saved["waves"]
    chain = WaveformChain(bundle, waves, np.zeros(len(waves)))
    gradient = chain.gradient_at(np.arange(len(waves)))(waves, saved["wave_labels"])
    wave_sign = np.sign(keras.ops.convert_to_numpy(gradient))
    print(f"waveform_sign_agreement={np.mean(wave_sign == saved['wave_sign']):.6f}")

    features, labels = synthetic_features(n_per_class=10)
    data = tf.data.Dataset.from_tensor_slices((features, labels)).batch(10)
    result = train(
        small_classifier(),
        data,
        data,
        run_dir=directory / "run",
        epochs=2,
        verbose=0,
        adversarial_training=Attack("pgd", 0.2, steps=2),
    )
    print(f"adversarial_training_loss={result.history['loss'][-1]:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
