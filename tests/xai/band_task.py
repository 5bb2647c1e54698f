"""A synthetic task where one frequency band alone carries the class, and a small CNN
trained on it: what every explanation method must find."""

from __future__ import annotations

import numpy as np

from kser import features
from kser.models import build_model
from kser.training import seed_everything

N_BINS, N_FRAMES = 32, 40
BAND = slice(8, 16)  # a quarter of the bins
EPOCHS = 12
N_CLASSES = 3
# Extractor whose frame grid and bin names label the synthetic input (32 mel bands).
GRID = features.get("mel", n_mels=N_BINS)


def band_inputs(n_per_class, seed):
    """Noise everywhere; in the band, class 0 is low, class 1 high, class 2 alternates."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(N_CLASSES), n_per_class)
    x = rng.normal(size=(len(labels), N_BINS, N_FRAMES)).astype("float32")
    square = np.where((np.arange(N_FRAMES) // 5) % 2 == 0, 2.5, -2.5)
    patterns = np.stack([np.full(N_FRAMES, -2.5), np.full(N_FRAMES, 2.5), square])
    x[:, BAND, :] += patterns[labels][:, None, :]
    return x, labels


def train_band_model(seed=0):
    """CNN3 at quarter width fitted on 300 clips of the band task (a few seconds)."""
    import keras

    seed_everything(seed)
    model = build_model("cnn3", (N_BINS, N_FRAMES), num_classes=N_CLASSES, width=0.25)
    x, y = band_inputs(200, seed)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x, y, epochs=EPOCHS, batch_size=30, verbose=0, shuffle=True)
    return model


def band_share(maps) -> np.ndarray:
    """Fraction of each map's absolute mass that lies in the band."""
    mass = np.abs(np.asarray(maps, dtype=float))
    return mass[:, BAND, :].sum(axis=(1, 2)) / mass.sum(axis=(1, 2))
