"""Attacks on the audio itself: gradients through the bundle's feature extractor.

kser's extractors are TensorFlow ops, so the loss is differentiable with
respect to the waveform wherever the extractor is (mel, STFT, MFCC, ...). The
chain is

    waveform -> extractor -> normalization -> model -> loss

with the normalization's statistics fixed to those of the clean clips
(`kser.training.augmented_batches`'s fixed normalization: each speaker's
statistics, then the training split's), as an attacker who changes a clip
cannot move the statistics of every other clip of its speaker much. The
extractor's part of the gradient is always TensorFlow's; the model's part is
the backend's (`kser.adversarial.gradients`), joined by the chain rule
(a vector-Jacobian product), so the waveform attack runs on either backend.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kser.adversarial.gradients import input_gradient
from kser.errors import KserBundleError
from kser.training.augmented_batches import _fixed_normalization

# Audio samples are floats in [-1, 1]: adversarial audio stays there.
SAMPLE_BOUNDS = (-1.0, 1.0)


class WaveformChain:
    """Extractor, fixed normalization and model of `bundle`, differentiable in the waveform.

    `clean_waves` `(n, n_samples)` and `speakers` `(n,)`: the clips to attack;
    their features fix the normalization statistics. Raises `KserBundleError`
    when the extractor passes no gradient to the waveform.
    """

    def __init__(self, bundle, clean_waves: np.ndarray, speakers):
        self.bundle = bundle
        self.extractor = bundle.extractor
        self._normalize = _fixed_normalization(
            bundle.normalizer, bundle._extract(clean_waves), np.asarray(speakers)
        )
        self._check_differentiable(clean_waves[:1])

    def normalized_features(self, waves, positions) -> tf.Tensor:
        """Model inputs of `waves`, the clips at `positions` (rows of the clean clips)."""
        return self._normalize(self.extractor(waves), tf.constant(positions))

    def gradient_at(self, positions):
        """`gradient(waves, labels)` for the clips at `positions`, as `Attack.perturb` takes it."""
        positions = np.asarray(positions)

        def gradient(waves, labels):
            waves = tf.constant(keras.ops.convert_to_numpy(waves), dtype=tf.float32)
            with tf.GradientTape() as tape:
                tape.watch(waves)
                normalized = self.normalized_features(waves, positions)
            feature_gradient = input_gradient(self.bundle.model, normalized.numpy(), labels)
            wave_gradient = tape.gradient(
                normalized,
                waves,
                output_gradients=tf.constant(keras.ops.convert_to_numpy(feature_gradient)),
            )
            return keras.ops.convert_to_tensor(wave_gradient.numpy())

        return gradient

    def _check_differentiable(self, probe: np.ndarray) -> None:
        waves = tf.constant(probe, dtype=tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(waves)
            features = self.extractor(waves)
        gradient = tape.gradient(features, waves)
        if gradient is None or not np.any(gradient.numpy()):
            raise KserBundleError(
                f"feature {self.extractor.name!r} passes no gradient to the waveform; "
                "attack its features instead (--domain feature)"
            )
        if not np.all(np.isfinite(gradient.numpy())):
            raise KserBundleError(
                f"feature {self.extractor.name!r} has non-finite gradients in the waveform; "
                "attack its features instead (--domain feature)"
            )


def signal_to_perturbation_db(clean: np.ndarray, adversarial: np.ndarray) -> np.ndarray:
    """`10 log10(sum clean^2 / sum (adversarial - clean)^2)` of each clip, `(n,)` (inf: none)."""
    clean = np.asarray(clean, dtype=np.float64)
    noise = np.asarray(adversarial, dtype=np.float64) - clean
    signal_energy = np.sum(clean**2, axis=-1)
    noise_energy = np.sum(noise**2, axis=-1)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(signal_energy / noise_energy)


def amplitude_dbfs(eps: float) -> float:
    """An L-infinity bound on samples in dB re full scale (1.0): 0.001 -> -60 dBFS."""
    with np.errstate(divide="ignore"):
        return float(20.0 * np.log10(eps))
