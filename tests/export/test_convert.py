"""Keras -> ONNX on the TensorFlow backend: every kser model and the ensemble, parity and batch."""

from __future__ import annotations

import keras
import numpy as np
import onnx
import onnxruntime
import pytest
import tensorflow as tf

from kser.errors import KserBundleError
from kser.export import deployment_model, to_onnx
from tests.models.model_checks import CASE_IDS, TINY_CASES, build_tiny_model, tiny_batch
from tests.models.weighted_ensemble_checks import tiny_ensemble, tiny_inputs

PARITY = 1e-4


def _run(path, feeds):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


@pytest.mark.parametrize("case", TINY_CASES, ids=CASE_IDS)
def test_every_model_exports_with_keras_probabilities_at_any_batch_size(case, tmp_path):
    model = build_tiny_model(case)
    x = np.concatenate([tiny_batch(case, seed)[0] for seed in range(3)])  # 6 clips
    has_embedding = any(layer.name == "logits" for layer in model.layers)
    deployment = deployment_model(model, "embedding" if has_embedding else "input")
    path = to_onnx(deployment, tmp_path / "model.onnx")
    expected = deployment.predict(x, verbose=0)
    for batch in (x[:1], x):  # the batch axis is dynamic
        outputs = _run(path, {"features": batch})
        assert sorted(outputs) == sorted(expected)
        for name, values in outputs.items():
            np.testing.assert_allclose(values, expected[name][: len(batch)], atol=PARITY)
    probabilities = outputs["probabilities"]
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    logits = keras.ops.convert_to_numpy(model(x, training=False))
    np.testing.assert_array_equal(probabilities.argmax(axis=1), logits.argmax(axis=1))


def test_the_ensemble_exports_as_one_graph_with_weights_and_temperature(tmp_path):
    ensemble = tiny_ensemble(normalization="non_negative")
    ensemble.combiner.weight_logits.assign(np.array([0.7, 0.0, 1.3], dtype="float32"))
    ensemble.combiner.set_temperature(2.5)
    path = to_onnx(deployment_model(ensemble, "members"), tmp_path / "ensemble.onnx")
    inputs = tiny_inputs(batch=5)
    outputs = _run(path, inputs)
    expected = tf.nn.softmax(ensemble(inputs, training=False)).numpy()
    np.testing.assert_allclose(outputs["probabilities"], expected, atol=PARITY)
    graph = onnx.load(path)
    assert sorted(i.name for i in graph.graph.input) == ["mel", "mfcc"]
    assert len(graph.graph.output) == 1  # its flatten+dense members adapt on their inputs


def test_a_layer_without_onnx_operator_is_named(tmp_path):
    inputs = keras.Input((64,), name="features")
    spectrum = keras.layers.Lambda(
        lambda x: tf.math.imag(tf.signal.rfft(x)), name="imaginary_spectrum"
    )(inputs)
    model = keras.Model(inputs, keras.layers.Dense(6, name="logits")(spectrum))
    with pytest.raises(KserBundleError, match="RFFT.*imaginary_spectrum") as caught:
        to_onnx(deployment_model(model), tmp_path / "model.onnx")
    assert str(tmp_path / "model.onnx") in str(caught.value)
    assert not (tmp_path / "model.onnx").exists()
