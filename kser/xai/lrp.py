"""Layer-wise relevance propagation (LRP) on the graph of a Keras functional model.

Relevance starts as the explained logit and flows back layer by layer to the
input, each layer sharing its outputs' relevance among its inputs in
proportion to their contributions (zennit's rules):

- epsilon: `R_i = a_i * sum_j w_ij R_j / (z_j + eps * sign(z_j))`, on every
  affine layer (the only rule for dense layers, including the logits);
- alpha-beta (`alpha - beta = 1`, default 2, 1): positive and negative
  contributions apart, `R_i = alpha * (a w)+_i / z+ - beta * (a w)-_i / z-`,
  on convolutions (zennit's `EpsilonAlpha2Beta1` composite); a neuron whose
  contributions all have one sign gives them all its relevance.

Batch normalization is folded into the convolution or dense layer before it
(one affine map); ReLUs and dropout pass relevance on; max pooling gives it
to the winners; average pooling, global pooling and the residual `Add`
share it by contribution; reshapes, permutes, crops and concatenations move
it with the values. Any other layer (LSTMs, softmaxes, nested models) raises
`KserExplainError` naming it.

Conservation: a bias takes its share of relevance like an input does, so
`relevance.sum() + bias_relevance == logit` up to the stabilisers.
`LrpResult.conservation_error` measures it. Works on both backends (the
vector-Jacobian products come from `kser.xai.autodiff`).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from kser.errors import KserExplainError
from kser.xai.autodiff import vjp

RULES = ("epsilon", "alpha_beta")
EPSILON = 1e-6
_AFFINE = ("Dense", "Conv1D", "Conv2D")
_PASS_ON = ("ReLU", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise")
_MOVE = ("Reshape", "Permute", "Flatten", "Cropping1D", "Cropping2D", "ZeroPadding1D",
         "ZeroPadding2D", "Concatenate")  # fmt: skip
_SHARE = ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
          "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
          "GlobalMaxPooling2D", "Add")  # fmt: skip


@dataclass
class LrpResult:
    """Input relevance `(n, *input_shape)`, the relevance absorbed by biases `(n,)` and
    the explained logits `(n,)`."""

    relevance: np.ndarray
    bias_relevance: np.ndarray
    logits: np.ndarray

    @property
    def conservation_error(self) -> np.ndarray:
        """`|sum of relevance + bias share - logit| / |logit|` per row."""
        total = self.relevance.reshape(len(self.relevance), -1).sum(axis=1) + self.bias_relevance
        return np.abs(total - self.logits) / np.maximum(np.abs(self.logits), 1e-12)


def lrp(model, x, targets, rule: str = "epsilon", alpha: float = 2.0, beta: float = 1.0):
    """The `LrpResult` of each row of `x` for its `targets` logit (class indices)."""
    if rule not in RULES:
        raise KserExplainError(f"LRP rule must be one of {RULES}. Received: rule={rule!r}")
    if rule == "alpha_beta" and not (alpha - beta == 1 and beta >= 0):
        raise KserExplainError(
            "alpha-beta LRP needs alpha - beta = 1, beta >= 0. "
            f"Received: alpha={alpha}, beta={beta}"
        )
    graph = _Graph(model)
    x = np.asarray(x, dtype="float32")
    activations = graph.activations(x)
    logits = activations[graph.output]
    rows = np.arange(len(x))
    targets = np.asarray(targets)
    relevance = {graph.output: np.zeros_like(logits)}
    relevance[graph.output][rows, targets] = logits[rows, targets]
    bias = np.zeros(len(x))
    for layer in reversed(graph.layers):
        name = layer.name
        if name not in relevance or name in graph.folded_into:
            continue
        upper = relevance.pop(name)
        kind = type(layer).__name__
        if kind == "InputLayer":
            relevance[name] = upper
            continue
        inputs = graph.inputs_of(layer)
        if kind in _AFFINE or kind == "BatchNormalization":
            source, weights, bias_vector, apply = graph.affine(layer)
            use_alpha_beta = rule == "alpha_beta" and kind != "Dense"
            share = _alpha_beta if use_alpha_beta else _epsilon
            lower, absorbed = share(apply, activations[source], weights, bias_vector, upper,
                                    alpha, beta)  # fmt: skip
            bias += absorbed
            _accumulate(relevance, source, lower)
            continue
        values = [activations[source] for source in inputs]
        if kind in _PASS_ON:
            lowers = [upper]
        elif kind in _MOVE:
            lowers = vjp(_called(layer), values, upper)
        elif kind in _SHARE:
            z = activations[name]
            grads = vjp(_called(layer), values, upper / _stabilised(z))
            lowers = [value * grad for value, grad in zip(values, grads, strict=True)]
        else:
            raise KserExplainError(
                f"LRP cannot pass relevance through layer {name!r} ({kind}) of model "
                f"{model.name!r}; it supports convolutions, dense layers, batch norm, ReLU, "
                "dropout, pooling, Add, reshapes, crops and concatenations"
            )
        for source, lower in zip(inputs, lowers, strict=True):
            _accumulate(relevance, source, lower)
    return LrpResult(relevance[graph.input], bias, logits[rows, targets])


def _called(layer):
    """`layer` as a function of its input tensors (a list for a merge layer)."""
    return lambda *tensors: layer(list(tensors) if len(tensors) > 1 else tensors[0])


def _epsilon(apply, a, weights, bias, upper, alpha, beta):
    z = _forward(apply, a, weights) + bias
    s = upper / _stabilised(z)
    (grad,) = vjp(lambda inputs: apply(inputs, weights), [a], s)
    return a * grad, _bias_share(bias, s)


def _alpha_beta(apply, a, weights, bias, upper, alpha, beta):
    positive_a, negative_a = np.maximum(a, 0), np.minimum(a, 0)
    positive_w, negative_w = np.maximum(weights, 0), np.minimum(weights, 0)
    positive_b, negative_b = np.maximum(bias, 0), np.minimum(bias, 0)
    # Contributions of one sign: (w+ on a+, w- on a-) add up positive, the others negative.
    excitatory = ((positive_a, positive_w), (negative_a, negative_w))
    inhibitory = ((positive_a, negative_w), (negative_a, positive_w))
    z_plus = sum(_forward(apply, part, w) for part, w in excitatory) + positive_b
    z_minus = sum(_forward(apply, part, w) for part, w in inhibitory) + negative_b
    # A neuron with contributions of one sign only gives all its relevance to
    # them (alpha 1, beta 0, or the mirror image): otherwise the absent side's
    # share would vanish and relevance would not be conserved.
    alphas = np.where(z_minus == 0, 1.0, np.where(z_plus == 0, 0.0, alpha))
    betas = alphas - 1.0
    s_plus = alphas * upper / _stabilised(z_plus)
    s_minus = betas * upper / _stabilised(z_minus)

    def share(parts, s):
        return sum(part * vjp(lambda i, w=w: apply(i, w), [part], s)[0] for part, w in parts)

    lower = share(excitatory, s_plus) - share(inhibitory, s_minus)
    return lower, _bias_share(positive_b, s_plus) - _bias_share(negative_b, s_minus)


def _forward(apply, a, weights) -> np.ndarray:
    return keras.ops.convert_to_numpy(apply(np.asarray(a, "float32"), weights)).astype("float64")


def _bias_share(bias, s) -> np.ndarray:
    """Each row's relevance taken by the bias: `sum over positions of b_channel * s`."""
    return (s * bias).reshape(len(s), -1).sum(axis=1)


def _stabilised(z) -> np.ndarray:
    return z + EPSILON * np.where(z >= 0, 1.0, -1.0)


def _accumulate(relevance: dict, name: str, value) -> None:
    # A tensor read by several layers (a residual fork) gets the sum of their shares.
    value = np.asarray(value, dtype="float64")
    relevance[name] = relevance[name] + value if name in relevance else value


class _Graph:
    """The model's layers in topological order, who feeds whom, and BN folding."""

    def __init__(self, model):
        self.model = model
        self.layers = list(model.layers)
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise KserExplainError(
                f"LRP explains single-input, single-output models; {model.name!r} has "
                f"{len(model.inputs)} inputs and {len(model.outputs)} outputs"
            )
        self.input = model.inputs[0]._keras_history.operation.name
        self.output = model.outputs[0]._keras_history.operation.name
        self._parents = {}
        consumers = {}
        for layer in self.layers:
            if len(layer._inbound_nodes) > 1:
                raise KserExplainError(
                    f"LRP cannot explain layer {layer.name!r}: it is used more than once"
                )
            tensors = layer._inbound_nodes[0].input_tensors if layer._inbound_nodes else []
            parents = [tensor._keras_history.operation.name for tensor in tensors]
            self._parents[layer.name] = parents
            for parent in parents:
                consumers.setdefault(parent, []).append(layer.name)
        # A batch norm right after a linear conv/dense that feeds nothing else folds into it.
        self.folded_into = {}
        for layer in self.layers:
            if type(layer).__name__ != "BatchNormalization":
                continue
            (parent,) = self._parents[layer.name]
            producer = model.get_layer(parent)
            if (
                type(producer).__name__ in _AFFINE
                and _activation_name(producer) == "linear"
                and consumers[parent] == [layer.name]
            ):
                self.folded_into[parent] = layer.name

    def inputs_of(self, layer) -> list[str]:
        return self._parents[layer.name]

    def activations(self, x) -> dict[str, np.ndarray]:
        names = [layer.name for layer in self.layers]
        probe = keras.Model(self.model.inputs, [self.model.get_layer(n).output for n in names])
        outputs = probe([x], training=False)
        return {
            name: keras.ops.convert_to_numpy(value).astype("float64")
            for name, value in zip(names, outputs, strict=True)
        }

    def affine(self, layer):
        """`(input layer name, weights, bias, apply)`: the layer's pre-activation is
        `apply(a, weights) + bias`, with a batch norm after it folded in."""
        kind = type(layer).__name__
        if kind in _AFFINE and _activation_name(layer) not in ("linear", "relu"):
            raise KserExplainError(
                f"LRP cannot explain layer {layer.name!r}: activation "
                f"{_activation_name(layer)!r} (only linear or relu)"
            )
        if kind == "BatchNormalization":
            (parent,) = self._parents[layer.name]
            scale, shift = _batch_norm_affine(layer)
            if parent not in self.folded_into:
                return parent, scale, shift, lambda a, w: a * w
            producer = self.model.get_layer(parent)
            kernel, bias, apply = _linear_map(producer)
            (source,) = self._parents[parent]
            return source, kernel * scale, bias * scale + shift, apply
        kernel, bias, apply = _linear_map(layer)
        (source,) = self._parents[layer.name]
        return source, kernel, bias, apply


def _linear_map(layer):
    """`(kernel, bias, apply)` of a Dense or Conv layer, in float64 numpy."""
    kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
    bias = (
        keras.ops.convert_to_numpy(layer.bias).astype("float64")
        if layer.use_bias
        else np.zeros(kernel.shape[-1])
    )
    if type(layer).__name__ == "Dense":
        return kernel, bias, lambda a, w: keras.ops.matmul(a, keras.ops.cast(w, a.dtype))
    if layer.data_format != "channels_last" or layer.groups != 1:
        raise KserExplainError(f"LRP supports channels-last, ungrouped convolutions: {layer.name}")

    def apply(a, w):
        return keras.ops.conv(
            a,
            keras.ops.cast(w, a.dtype),
            strides=layer.strides,
            padding=layer.padding,
            dilation_rate=layer.dilation_rate,
        )

    return kernel, bias, apply


def _batch_norm_affine(layer):
    """Inference-mode batch norm as `a * scale + shift` (per channel, last axis)."""
    if layer.axis not in (-1, len(layer.input.shape) - 1):
        raise KserExplainError(f"LRP folds batch norms over the last axis only: {layer.name}")

    def numpy(weight, default):
        return default if weight is None else keras.ops.convert_to_numpy(weight).astype("float64")

    variance = numpy(layer.moving_variance, None)
    ones = np.ones_like(variance)
    scale = numpy(layer.gamma, ones) / np.sqrt(variance + layer.epsilon)
    shift = numpy(layer.beta, 0 * ones) - numpy(layer.moving_mean, None) * scale
    return scale, shift


def _activation_name(layer) -> str:
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", "linear") if activation is not None else "linear"
