"""Shared model checks (keras-hub `test_case` style), runnable under any Keras backend.

`run_model_checks` checks one model on a tiny batch: output shape, config
round-trip, `.keras` save/load, predictions through a `tf.data` map, and
one `fit` step. The TensorFlow tests call it in-process; the torch test
runs `tests.models.torch_backend_checks` in a subprocess, which calls it too.
"""

import keras
import numpy as np
import tensorflow as tf

from kser.models import build_model

NUM_CLASSES = 6
BATCH_SIZE = 2

# (case id, model name, input shape, constructor arguments): tiny but complete models.
TINY_CASES = (
    ("audio_resnet", "audio_resnet", (32, 48), {"width": 0.125}),
    ("vgg16", "vgg16", (32, 48), {"width": 0.0625, "head_units": 8}),
    ("cnn3", "cnn3", (32, 48), {"width": 0.25}),
    ("conv1d_features", "conv1d", (32, 48), {}),
    ("conv1d_waveform", "conv1d", (1600,), {}),
    (
        "parallel_conv_bilstm",
        "parallel_conv_bilstm",
        (2, 48),
        {"conv_filters": (8, 16), "lstm_units": 8, "dense_units": (16,)},
    ),
    ("linear_functionals", "linear", (40, 1), {}),
    ("kernel_prosody", "kernel", (19, 1), {"features": 32}),
    ("prosody_fusion", "prosody_fusion", (40, 1), {"prosody_values": 5, "hidden_units": 8}),
)
CASE_IDS = [case[0] for case in TINY_CASES]


def build_tiny_model(case):
    _, name, input_shape, kwargs = case
    return build_model(name, input_shape, num_classes=NUM_CLASSES, **kwargs)


def tiny_batch(case, seed=0):
    """Random features and labels for one batch of `case`'s input shape."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH_SIZE, *case[2])).astype("float32")
    y = rng.integers(0, NUM_CLASSES, BATCH_SIZE)
    return x, y


def predict(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def check_output_shape(model, x):
    logits = predict(model, x)
    assert logits.shape == (len(x), NUM_CLASSES), logits.shape
    assert np.all(np.isfinite(logits))
    # Logits, not probabilities: rows of a softmax output would all sum to 1.
    assert not np.allclose(logits.sum(axis=1), 1.0, atol=1e-3)


def check_config_round_trip(model, x):
    config = model.get_config()
    revived = type(model).from_config(config)
    assert revived.get_config() == config
    revived.set_weights(model.get_weights())
    np.testing.assert_allclose(predict(revived, x), predict(model, x), atol=1e-6)


def check_saving(model, x, path):
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(predict(loaded, x), predict(model, x), atol=1e-6)


def check_tf_data(model, x):
    """Predictions on a mapped `tf.data` pipeline equal those on the arrays."""
    dataset = (
        tf.data.Dataset.from_tensor_slices(x.astype("float64"))
        .map(lambda features: tf.cast(features, tf.float32))
        .batch(BATCH_SIZE)
    )
    np.testing.assert_allclose(
        model.predict(dataset, verbose=0), predict(model, x), rtol=1e-5, atol=1e-5
    )


def check_fit_step(model, x, y):
    """One optimizer step on logits with a from-logits loss changes the weights."""
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH_SIZE)
    history = model.fit(dataset, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert all(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))


def run_model_checks(case, directory):
    """All checks for one tiny case; `.keras` files go to `directory`."""
    model = build_tiny_model(case)
    x, y = tiny_batch(case)
    check_output_shape(model, x)
    check_config_round_trip(model, x)
    check_saving(model, x, f"{directory}/{case[0]}.keras")
    check_tf_data(model, x)
    check_fit_step(model, x, y)
