"""Helpers of the export tests: the labels and a two-feature ensemble bundle to export."""

from __future__ import annotations

import keras
import numpy as np

from kser import features
from kser.features.normalization import Normalizer
from kser.models import WeightedEnsemble, build_model
from kser.speakers.adaptation import SpeakerAdaptation
from kser.training import Bundle, seed_everything
from tests.training.helpers import BUNDLE_SECONDS

LABELS = ("anger", "fear", "happiness", "neutral", "sadness", "surprised")


def make_ensemble_bundle(seed=0) -> Bundle:
    """A learned-weight ensemble: a CNN on mel (adapted on its embedding) and a dense
    member on RMS energy (adapted on its input), with set weights and temperature."""
    extractors = {"mel": features.get("mel", n_mels=16), "rms": features.get("rms")}
    n_frames = extractors["mel"].n_frames(int(16000 * BUNDLE_SECONDS))
    seed_everything(seed)
    cnn = build_model("cnn3", (16, n_frames), num_classes=6, width=0.125)
    rms_inputs = keras.Input((1, n_frames), name="features")
    rms = keras.Model(
        rms_inputs,
        keras.layers.Dense(6, name="rms_dense")(keras.layers.Flatten()(rms_inputs)),
        name="rms_dense",
    )
    ensemble = WeightedEnsemble([cnn, rms], ["mel", "rms"], normalization="non_negative")
    ensemble.combiner.weight_logits.assign(np.array([0.8, 0.4], dtype="float32"))
    ensemble.combiner.set_temperature(1.7)
    rng = np.random.default_rng(seed)
    speakers = np.repeat(["a", "b"], 4)
    normalizers = {
        "mel": Normalizer("speaker+global").fit(rng.normal(size=(8, 16, n_frames)), speakers),
        "rms": Normalizer("clip").fit(rng.normal(size=(8, 1, n_frames)), speakers),
    }
    return Bundle(
        model=ensemble,
        extractors=extractors,
        normalizers=normalizers,
        labels=LABELS,
        clip_seconds=BUNDLE_SECONDS,
        info={"speaker_adaptation": SpeakerAdaptation(neighbours=3, graph="members").to_dict()},
    )
