"""Helpers of the training tests (and of the tests elsewhere that need a bundle):
learnable synthetic features, a tiny model, a complete untrained bundle, tiny configs.

Fixtures live in tests/training/conftest.py; plain functions and constants here.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kser import features
from kser.features.normalization import Normalizer
from kser.models import build_model
from kser.training import Bundle, ExperimentConfig, seed_everything

N_CLASSES = 3
FEATURE_SHAPE = (4, 6)
# Bundles in these tests: 16 mel bands of 1 s clips, a 4-8-16 filter CNN.
BUNDLE_SECONDS = 1.0
TINY_CNN = {"width": 0.125}
# A seconds-long experiment: a tiny CNN on 16-band mel of half-second clips.
TINY_CONFIG = ExperimentConfig(
    model="cnn3",
    augment="none",
    clip_seconds=0.5,
    feature="mel",
    feature_params={"n_mels": 16},
    model_params=TINY_CNN,
    batch_size=8,
)


def synthetic_batches(n_per_class=12, batch_size=6, seed=0, shuffle=False):
    """A `tf.data.Dataset` of `(features, label)` batches; each class has its own mean pattern."""
    rng = np.random.default_rng(seed)
    patterns = np.random.default_rng(99).normal(size=(N_CLASSES, *FEATURE_SHAPE))
    labels = np.repeat(np.arange(N_CLASSES), n_per_class).astype(np.int32)
    features_ = (patterns[labels] + 0.8 * rng.normal(size=(len(labels), *FEATURE_SHAPE))).astype(
        np.float32
    )
    dataset = tf.data.Dataset.from_tensor_slices((features_, labels))
    if shuffle:
        dataset = dataset.shuffle(len(labels), seed=seed)
    return dataset.batch(batch_size)


def tiny_classifier(seed=0):
    """Flatten -> Dense(8) -> logits, built after seeding so its weights depend on `seed`."""
    seed_everything(seed)
    inputs = keras.Input(FEATURE_SHAPE)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(8, activation="relu")(x)
    x = keras.layers.Dropout(0.2)(x)
    return keras.Model(inputs, keras.layers.Dense(N_CLASSES, name="logits")(x))


def make_bundle(normalization="speaker+global", seed=0) -> Bundle:
    """An untrained but complete bundle: 16-band mel of 1 s clips, tiny CNN, fitted normalizer."""
    extractor = features.get("mel", n_mels=16)
    n_frames = extractor.n_frames(int(16000 * BUNDLE_SECONDS))
    seed_everything(seed)
    model = build_model("cnn3", (16, n_frames), num_classes=6, **TINY_CNN)
    train_features = np.random.default_rng(seed).normal(size=(8, 16, n_frames)) * 10 - 40
    normalizer = Normalizer(normalization).fit(train_features, np.repeat(["a", "b"], 4))
    return Bundle(
        model=model,
        extractors=extractor,
        normalizers=normalizer,
        labels=("anger", "fear", "happiness", "neutral", "sadness", "surprised"),
        clip_seconds=BUNDLE_SECONDS,
        info={"model": {"name": "cnn3", "params": TINY_CNN}},
    )
