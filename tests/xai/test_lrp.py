"""LRP on kser's own architectures: relevance is conserved layer by layer."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kser.errors import KserExplainError
from kser.models import build_model
from kser.xai.autodiff import logit_gradients
from kser.xai.lrp import lrp
from tests.models.model_checks import TINY_CASES, build_tiny_model

# Models whose every layer LRP supports (the BiLSTM, kernel and prosody-fusion
# models have recurrent, cosine and log-softmax layers: see test below).
SUPPORTED = ("audio_resnet", "vgg16", "cnn3", "conv1d_features", "conv1d_waveform",
             "linear_functionals")  # fmt: skip
CASES = {case[0]: case for case in TINY_CASES}


def _with_trained_statistics(model, seed=0):
    """Batch norms with moving statistics and offsets as after training, so folding matters."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.3, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype("float32"))
            layer.beta.assign(rng.normal(0, 0.2, n).astype("float32"))
            layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
    return model


@pytest.mark.parametrize("rule", ["epsilon", "alpha_beta"])
@pytest.mark.parametrize("case_id", SUPPORTED)
def test_relevance_sums_to_the_explained_logit(case_id, rule):
    case = CASES[case_id]
    keras.utils.set_random_seed(0)
    model = _with_trained_statistics(build_tiny_model(case))
    x = np.random.default_rng(1).normal(size=(3, *case[2])).astype("float32")
    targets = [0, 2, 5]
    result = lrp(model, x, targets, rule=rule)
    logits = keras.ops.convert_to_numpy(model(x, training=False))[np.arange(3), targets]
    np.testing.assert_allclose(result.logits, logits, rtol=1e-4, atol=1e-5)
    assert result.relevance.shape == x.shape
    assert np.all(result.conservation_error < 0.01), result.conservation_error


def test_epsilon_lrp_of_a_bias_free_relu_network_is_gradient_times_input():
    """Piecewise linear and bias-free: the epsilon rule reduces to gradient x input."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6, 5))
    x = keras.layers.Conv1D(4, 3, padding="same", use_bias=False, activation="relu")(inputs)
    x = keras.layers.MaxPooling1D(2)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, use_bias=False, name="logits")(x)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(2, 6, 5)).astype("float32")
    result = lrp(model, x, [1, 2])
    expected = logit_gradients(model, x, [1, 2]) * x
    np.testing.assert_allclose(result.relevance, expected, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(result.bias_relevance, 0.0, atol=1e-9)


@pytest.mark.parametrize("case_id", ["parallel_conv_bilstm", "prosody_fusion"])
def test_unsupported_layers_are_named(case_id):
    case = CASES[case_id]
    model = build_tiny_model(case)
    x = np.zeros((1, *case[2]), dtype="float32")
    with pytest.raises(KserExplainError, match=r"cannot pass relevance through layer '\w+'"):
        lrp(model, x, [0])


def test_alpha_beta_needs_alpha_minus_beta_one():
    model = build_model("linear", (4, 1), num_classes=2)
    with pytest.raises(KserExplainError, match="alpha - beta = 1"):
        lrp(model, np.zeros((1, 4, 1)), [0], rule="alpha_beta", alpha=3.0, beta=1.0)
