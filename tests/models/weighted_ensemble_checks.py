"""Tiny weighted-ensemble checks runnable under any Keras backend.

The TensorFlow tests import these; the torch test runs this module in a
subprocess (`python -m tests.models.weighted_ensemble_checks DIR`), because
the backend is fixed when Keras is imported.
"""

import json
import sys

import keras
import numpy as np

from kser.models.weighted_ensemble import WeightedEnsemble

NUM_CLASSES = 6
SHAPES = {"mel": (8, 5), "mfcc": (4, 5)}


def tiny_member(name, input_shape, num_classes=NUM_CLASSES):
    """Flatten + dense: a member model small enough to build in milliseconds."""
    inputs = keras.Input(shape=input_shape, name="features")
    x = keras.layers.Flatten(name=f"{name}_flatten")(inputs)
    outputs = keras.layers.Dense(num_classes, name=f"{name}_logits")(x)
    return keras.Model(inputs, outputs, name=name)


def tiny_ensemble(**kwargs):
    """Three members on two features: two of them share the "mel" input."""
    members = [
        tiny_member("mel_a", SHAPES["mel"]),
        tiny_member("mel_b", SHAPES["mel"]),
        tiny_member("mfcc_a", SHAPES["mfcc"]),
    ]
    return WeightedEnsemble(members, ["mel", "mel", "mfcc"], **kwargs)


def tiny_inputs(batch=2, seed=0):
    rng = np.random.default_rng(seed)
    return {
        name: rng.standard_normal((batch, *shape)).astype("float32")
        for name, shape in SHAPES.items()
    }


def predict(model, inputs):
    return keras.ops.convert_to_numpy(model(inputs, training=False))


def normalized(config):
    """The config as JSON sees it (tuples and lists compare equal)."""
    return json.loads(json.dumps(config))


def check_save_load_predict(directory):
    """An ensemble with set weights and temperature saves and loads as one model."""
    ensemble = tiny_ensemble(normalization="non_negative", l1=0.01)
    inputs = tiny_inputs()
    learned = np.array([0.7, 0.0, 1.3], dtype="float32")
    ensemble.combiner.weight_logits.assign(learned)
    ensemble.combiner.set_temperature(2.5)

    path = f"{directory}/ensemble.keras"
    ensemble.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is WeightedEnsemble
    assert normalized(loaded.get_config()) == normalized(ensemble.get_config())
    np.testing.assert_allclose(predict(loaded, inputs), predict(ensemble, inputs), atol=1e-6)
    np.testing.assert_allclose(list(loaded.mixing_weights().values()), learned, atol=1e-7)
    assert float(keras.ops.convert_to_numpy(loaded.combiner.temperature)) == 2.5
    return {"backend": keras.backend.backend()}


if __name__ == "__main__":
    print(json.dumps(check_save_load_predict(sys.argv[1])))
