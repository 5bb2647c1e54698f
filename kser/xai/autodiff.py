"""Gradients on either Keras backend: TensorFlow's GradientTape or torch's autograd.

Everything here takes and returns numpy arrays, so the explanation methods
above it are written once; only these two functions know the backend.
"""

from __future__ import annotations

import keras
import numpy as np


def even_batch(x: np.ndarray) -> np.ndarray:
    """`x` with a zero row appended when its batch is odd.

    TensorFlow 2.21's oneDNN convolution gradients crash the process
    ("double free or corruption") on odd batch sizes on this project's CPUs;
    callers drop the extra row's result.
    """
    x = np.asarray(x, dtype="float32")
    if len(x) % 2 == 0 or keras.backend.backend() != "tensorflow":
        return x
    return np.concatenate([x, np.zeros_like(x[:1])])


def vjp(function, inputs, cotangent) -> list[np.ndarray]:
    """Vector-Jacobian product: the gradient of `sum(function(*inputs) * cotangent)`
    with respect to each of `inputs` (numpy arrays sharing their first, batch axis),
    as numpy arrays."""
    n = len(cotangent)
    if len(even_batch(cotangent)) != n:
        grads = vjp(function, [even_batch(a) for a in inputs], even_batch(cotangent))
        return [grad[:n] for grad in grads]
    cotangent = np.asarray(cotangent, dtype="float32")
    if keras.backend.backend() == "torch":
        import torch

        tensors = [torch.tensor(np.asarray(a, "float32"), requires_grad=True) for a in inputs]
        output = function(*tensors)
        grads = torch.autograd.grad(
            output, tensors, grad_outputs=torch.from_numpy(cotangent), allow_unused=True
        )
        return [_zeros_if_none(g, a) for g, a in zip(grads, inputs, strict=True)]
    import tensorflow as tf

    tensors = [tf.convert_to_tensor(np.asarray(a, "float32")) for a in inputs]
    with tf.GradientTape() as tape:
        for tensor in tensors:
            tape.watch(tensor)
        output = function(*tensors)
    grads = tape.gradient(output, tensors, output_gradients=tf.convert_to_tensor(cotangent))
    return [_zeros_if_none(g, a) for g, a in zip(grads, inputs, strict=True)]


def logit_gradients(model, x, targets, layer_name=None):
    """Gradients of each row's `targets` logit with respect to the input `x`, or, with
    `layer_name`, `(activations, gradients)` of that layer's output."""
    one_hot = np.eye(model.outputs[0].shape[-1], dtype="float32")[np.asarray(targets)]
    n = len(one_hot)
    if len(even_batch(one_hot)) != n:
        result = logit_gradients(model, even_batch(x), np.r_[targets, 0], layer_name)
        return result[:n] if layer_name is None else tuple(part[:n] for part in result)
    if layer_name is None:
        return vjp(lambda inputs: model(inputs, training=False), [x], one_hot)[0]
    probe = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])
    if keras.backend.backend() == "torch":
        import torch

        activations, logits = probe([torch.tensor(np.asarray(x, "float32"))], training=False)
        (grads,) = torch.autograd.grad(logits, activations, grad_outputs=torch.from_numpy(one_hot))
        return activations.detach().cpu().numpy(), grads.detach().cpu().numpy()
    import tensorflow as tf

    with tf.GradientTape() as tape:
        activations, logits = probe(
            [tf.convert_to_tensor(np.asarray(x, "float32"))], training=False
        )
    grads = tape.gradient(logits, activations, output_gradients=tf.convert_to_tensor(one_hot))
    return activations.numpy(), grads.numpy()


def _zeros_if_none(gradient, like) -> np.ndarray:
    # An input the output does not depend on has no gradient; it is zero.
    if gradient is None:
        return np.zeros(np.shape(like), dtype="float32")
    return keras.ops.convert_to_numpy(
        gradient.detach() if hasattr(gradient, "detach") else gradient
    )
