"""The gradient of the classification loss with respect to a model's input, per backend.

The only backend-specific code of `kser.adversarial`: everything else works on
whatever tensors these functions take and return (`keras.ops`). Gradients are
taken in inference mode (`training=False`: no dropout, batch-norm moving
statistics), so an attack sees the model it is scored on, and only with
respect to the input: no weight's gradient is accumulated (torch's `.grad`
stays untouched), so they are safe inside a training step.
"""

from __future__ import annotations

import keras

from kser.errors import KserBundleError

BACKENDS = ("tensorflow", "torch")


def per_example_loss(model, inputs, labels):
    """Cross-entropy of `model`'s logits on `inputs` against `labels`, one value per example.

    `labels`: class indices `(batch,)`, or rows of class probabilities
    `(batch, n_classes)` (mixup's soft labels).
    """
    logits = model(inputs, training=False)
    if len(keras.ops.shape(labels)) == 2:
        return keras.ops.categorical_crossentropy(labels, logits, from_logits=True)
    return keras.ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)


def input_gradient(model, inputs, labels):
    """`d loss_i / d inputs_i` for every example `i`, shaped like `inputs` (a backend tensor).

    Examples do not interact in inference mode, so the gradient of the summed
    loss is each example's own gradient.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow_gradient(model, inputs, labels)
    if backend == "torch":
        return _torch_gradient(model, inputs, labels)
    raise KserBundleError(
        f"adversarial attacks need the gradient of the model; supported backends: "
        f"{', '.join(BACKENDS)}. Received: KERAS_BACKEND={backend!r}"
    )


def _tensorflow_gradient(model, inputs, labels):
    import tensorflow as tf

    inputs = tf.convert_to_tensor(inputs, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = keras.ops.sum(per_example_loss(model, inputs, labels))
    return tape.gradient(loss, inputs)


def _torch_gradient(model, inputs, labels):
    import torch

    inputs = keras.ops.convert_to_tensor(inputs, dtype="float32").detach().requires_grad_(True)
    labels = keras.ops.convert_to_tensor(labels)
    with torch.enable_grad():
        loss = per_example_loss(model, inputs, labels).sum()
        (gradient,) = torch.autograd.grad(loss, inputs)
    return gradient
