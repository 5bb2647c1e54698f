"""Synthetic corpora and member logits for the ensemble tests (no audio needed)."""

import numpy as np
import pandas as pd

from kser.data.labels import EMOTIONS
from kser.data.manifest import Corpus

NUM_CLASSES = len(EMOTIONS)


def manifest_corpus(n_speakers=7, clips_per_emotion=4):
    """A `Corpus` whose manifest names speakers S0.. and emotions; paths are never read."""
    rows = [
        {
            "path": f"/nowhere/S{s}_{emotion}_{k}.wav",
            "emotion": emotion,
            "speaker": f"S{s}",
            "gender": "female" if s % 2 else "male",
            "text": "",
            "duration": 1.0,
        }
        for s in range(n_speakers)
        for emotion in EMOTIONS
        for k in range(clips_per_emotion)
    ]
    return Corpus(pd.DataFrame(rows), EMOTIONS, "synthetic")


def informative_logits(labels, strength=3.0, seed=0):
    """Logits with the true class raised by `strength` above unit noise."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    noise = rng.standard_normal((len(labels), NUM_CLASSES))
    return (noise + strength * np.eye(NUM_CLASSES)[labels]).astype("float32")


def noise_logits(n, seed=1):
    return (3.0 * np.random.default_rng(seed).standard_normal((n, NUM_CLASSES))).astype("float32")
