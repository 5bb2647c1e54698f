"""A small trained synthetic classifier and its data, shared by the attack tests and the
torch subprocess (which loads the saved model and recomputes the same gradients)."""

from __future__ import annotations

import keras
import numpy as np

from kser.training import seed_everything

FEATURE_SHAPE = (4, 6)
N_CLASSES = 3


def synthetic_features(n_per_class=40, seed=0, spread=0.8):
    """`(features, labels)`: each class its own mean pattern plus Gaussian noise, float32."""
    patterns = np.random.default_rng(99).normal(size=(N_CLASSES, *FEATURE_SHAPE))
    labels = np.repeat(np.arange(N_CLASSES), n_per_class).astype(np.int32)
    noise = spread * np.random.default_rng(seed).normal(size=(len(labels), *FEATURE_SHAPE))
    return (patterns[labels] + noise).astype(np.float32), labels


def small_classifier(seed=0) -> keras.Model:
    """Flatten -> Dense(16, tanh) -> logits: smooth, so its gradients have few exact zeros."""
    seed_everything(seed)
    inputs = keras.Input(FEATURE_SHAPE)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(16, activation="tanh")(x)
    return keras.Model(inputs, keras.layers.Dense(N_CLASSES, name="logits")(x))


def trained_classifier(seed=0, epochs=30) -> keras.Model:
    """`small_classifier` fitted on `synthetic_features` (clean accuracy near 1)."""
    model = small_classifier(seed)
    features, labels = synthetic_features()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(features, labels, batch_size=20, epochs=epochs, shuffle=False, verbose=0)
    return model
