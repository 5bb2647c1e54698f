"""The eight architectures under TensorFlow, in-process; torch runs in test_models_torch.py."""

import keras
import numpy as np
import pytest

from kser.errors import KserModelError
from kser.models import (
    CNN3,
    VGG16,
    AudioResNet,
    Conv1DNet,
    KernelClassifier,
    LinearClassifier,
    ParallelConvBiLSTM,
    ProsodyFusionClassifier,
    build_model,
    model_names,
)
from tests.models.model_checks import (
    CASE_IDS,
    TINY_CASES,
    build_tiny_model,
    predict,
    run_model_checks,
)


@pytest.mark.parametrize("case", TINY_CASES, ids=CASE_IDS)
def test_model_passes_shared_checks_on_tensorflow(case, tmp_path):
    assert keras.backend.backend() == "tensorflow"
    run_model_checks(case, tmp_path)


@pytest.mark.parametrize("case", TINY_CASES, ids=CASE_IDS)
def test_every_layer_is_named_and_the_output_is_the_logits_layer(case):
    model = build_tiny_model(case)
    names = [layer.name for layer in model.layers]
    assert len(set(names)) == len(names)
    assert [tensor.name for tensor in model.inputs] == ["features"]
    assert model.layers[-1].name == "logits"
    assert model.layers[-1].get_config()["activation"] == "linear"
    # No auto-generated names such as "conv2d_3" or "dense".
    assert not [n for n in names if n.split("_")[0] in {"conv1d", "conv2d", "dense", "dropout"}]


def test_registry_builds_every_named_model_with_its_class():
    expected = {
        "audio_resnet": AudioResNet,
        "vgg16": VGG16,
        "cnn3": CNN3,
        "conv1d": Conv1DNet,
        "parallel_conv_bilstm": ParallelConvBiLSTM,
        "linear": LinearClassifier,
        "kernel": KernelClassifier,
        "prosody_fusion": ProsodyFusionClassifier,
    }
    assert set(model_names()) == set(expected)
    for name, shape, kwargs in [
        ("audio_resnet", (16, 24), {"width": 0.125}),
        ("vgg16", (16, 24), {"width": 0.0625}),
        ("cnn3", (16, 24), {"width": 0.125}),
        ("conv1d", (400,), {}),
        ("parallel_conv_bilstm", (2, 24), {"lstm_units": 4}),
        ("linear", (40, 1), {}),
        ("kernel", (19, 1), {}),
        ("prosody_fusion", (40, 1), {}),
    ]:
        model = build_model(name, shape, num_classes=4, **kwargs)
        assert type(model) is expected[name]
        assert model.output.shape == (None, 4)


def test_unknown_model_name_is_rejected_with_the_known_names():
    with pytest.raises(KserModelError, match=r"audio_resnet.*Received: name='resnet50'"):
        build_model("resnet50", (64, 301))


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("cnn3", {"input_shape": (64,)}, "Received: input_shape=\\(64,\\)"),
        ("vgg16", {"input_shape": (None, 301)}, "input_shape"),
        ("conv1d", {"input_shape": (0,)}, "input_shape"),
        ("audio_resnet", {"input_shape": (64, 301), "num_classes": 1}, "num_classes=1"),
        ("audio_resnet", {"input_shape": (64, 301), "width": 0}, "width=0"),
        ("vgg16", {"input_shape": (64, 301), "input_pool": (2,)}, "input_pool=\\(2,\\)"),
        ("cnn3", {"input_shape": (64, 301), "dropout": 1.0}, "dropout=1.0"),
        ("conv1d", {"input_shape": (48000,), "kernel_size": 2.5}, "kernel_size=2.5"),
        (
            "parallel_conv_bilstm",
            {"input_shape": (2, 301), "conv_filters": ()},
            "conv_filters=\\(\\)",
        ),
    ],
)
def test_bad_arguments_are_rejected_up_front(name, kwargs, message):
    with pytest.raises(KserModelError, match=message):
        build_model(name, **kwargs)


def test_unknown_frame_count_is_accepted_for_variable_length_clips():
    model = build_model("cnn3", (16, None), width=0.125)
    for n_frames in (20, 33):
        assert model(keras.ops.zeros((1, 16, n_frames))).shape == (1, 6)


def test_conv1d_reads_bins_as_channels_and_frames_as_steps():
    model = Conv1DNet((40, 100))
    assert model.get_layer("time_major").output.shape == (None, 100, 40)
    assert model.get_layer("block1_conv").get_config()["strides"] == (1,)


def test_conv1d_strides_waveforms_by_default():
    model = Conv1DNet((48000,))
    assert model.get_config()["stem_stride"] == 4
    assert model.get_layer("block1_conv").output.shape == (None, 12000, 32)


def test_full_width_audio_resnet_is_resnet18():
    model = AudioResNet((64, 301), width=1.0)
    main_path_convs = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and not layer.name.endswith("_0_conv")
    ]
    # ResNet18: a stem convolution, 16 in the residual blocks, one dense layer.
    assert len(main_path_convs) == 17
    assert [c.filters for c in main_path_convs[::4]] == [64, 64, 128, 256, 512]
    assert isinstance(model.get_layer("logits"), keras.layers.Dense)


def test_full_width_vgg16_has_the_study_filter_counts():
    model = VGG16((64, 301), width=1.0, input_pool=(1, 1))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64] * 2 + [128] * 2 + [256] * 3 + [512] * 6
    assert all(c.kernel_size == (3, 3) for c in convs)


def test_linear_classifier_is_logistic_regression_with_its_l2_penalty():
    model = build_model("linear", (5, 1), num_classes=3, l2=0.5)
    x = np.random.default_rng(0).standard_normal((4, 5, 1)).astype("float32")
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in model.get_layer("logits").weights)
    np.testing.assert_allclose(predict(model, x), x[..., 0] @ kernel + bias, rtol=1e-5)
    penalty = keras.ops.convert_to_numpy(model.losses[0])
    np.testing.assert_allclose(penalty, 0.5 * np.sum(kernel**2), rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (32, None)}, "input_shape.*positive integers"),
        ({"input_shape": (32, 1), "l2": -1.0}, "l2"),
    ],
)
def test_linear_classifier_rejects_bad_arguments(kwargs, message):
    with pytest.raises(KserModelError, match=message):
        LinearClassifier(**kwargs)


def test_kernel_classifier_features_approximate_the_rbf_kernel():
    model = build_model("kernel", (8, 1), num_classes=3, features=20000, gamma=0.1)
    x = np.random.default_rng(0).standard_normal((6, 8, 1)).astype("float32")
    fourier = keras.Model(model.input, model.get_layer("fourier_features").output)
    phi = predict(fourier, x)
    distances = ((x[:, None, :, 0] - x[None, :, :, 0]) ** 2).sum(axis=-1)
    np.testing.assert_allclose(phi @ phi.T, np.exp(-0.1 * distances), atol=0.03)
    # The default width suits standardised values: 1 / n_values.
    assert build_model("kernel", (19, 1)).gamma == 1 / 19


def test_kernel_classifier_trains_only_its_logits_and_its_map_is_fixed():
    first, second = (build_model("kernel", (5, 1), num_classes=3, l2=0.5) for _ in range(2))
    assert [w.name for w in first.trainable_weights] == ["kernel", "bias"]
    assert first.trainable_weights[0].path.startswith("logits")
    # The same map on every build, so a model rebuilt from its config reads the same.
    maps = [model.get_layer("random_projection").weights for model in (first, second)]
    for a, b in zip(*maps, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    kernel = keras.ops.convert_to_numpy(first.get_layer("logits").weights[0])
    penalty = keras.ops.convert_to_numpy(first.losses[0])
    np.testing.assert_allclose(penalty, 0.5 * np.sum(kernel**2), rtol=1e-5)


def test_kernel_classifier_separates_classes_a_linear_one_cannot():
    # Inside vs outside a circle: no line separates them, an RBF kernel does.
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.5, 1.5, (600, 2, 1)).astype("float32")
    y = (np.hypot(x[:, 0, 0], x[:, 1, 0]) < 1.0).astype("int32")
    accuracies = {}
    for name in ("kernel", "linear"):
        keras.utils.set_random_seed(0)
        model = build_model(name, (2, 1), num_classes=2, l2=1e-4)
        model.compile(
            optimizer=keras.optimizers.Adam(0.02),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(x[:400], y[:400], epochs=40, batch_size=32, verbose=0)
        accuracies[name] = np.mean(predict(model, x[400:]).argmax(axis=1) == y[400:])
    assert accuracies["kernel"] >= 0.9
    assert accuracies["linear"] <= 0.75


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (19, None)}, "input_shape.*positive integers"),
        ({"input_shape": (19, 1), "features": 0}, "features"),
        ({"input_shape": (19, 1), "gamma": 0.0}, "gamma"),
        ({"input_shape": (19, 1), "l2": -1.0}, "l2"),
    ],
)
def test_kernel_classifier_rejects_bad_arguments(kwargs, message):
    with pytest.raises(KserModelError, match=message):
        KernelClassifier(**kwargs)


def test_prosody_fusion_is_a_weighted_product_of_a_linear_and_a_prosodic_expert():
    model = build_model("prosody_fusion", (12, 1), num_classes=3, prosody_values=4, l2=0.5)
    x = np.random.default_rng(0).standard_normal((5, 12, 1)).astype("float32")
    kernel, bias = (
        keras.ops.convert_to_numpy(w) for w in model.get_layer("spectral_logits").weights
    )
    # The linear expert reads the first 8 values only, the MLP the last 4.
    assert kernel.shape == (8, 3)
    assert model.get_layer("prosody_hidden1").weights[0].shape == (4, 64)
    prosodic = keras.Model(model.input, model.get_layer("prosody_logits").output)
    expected = 0.2 * log_softmax(x[:, :8, 0] @ kernel + bias) + 0.8 * log_softmax(
        predict(prosodic, x)
    )
    np.testing.assert_allclose(predict(model, x), expected, rtol=1e-5, atol=1e-5)
    # The fusion weights are fixed: only the experts learn.
    assert not model.get_layer("logits").trainable_weights
    assert model.get_layer("logits").non_trainable_weights
    # Each expert's L2 penalty is in the loss (the linear one: 0.5 * |kernel|^2).
    penalties = sorted(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses)
    assert len(penalties) == 3
    assert min(abs(p - 0.5 * np.sum(kernel**2)) for p in penalties) < 1e-4


def log_softmax(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (10, 2)}, "input_shape"),
        ({"input_shape": (19, 1)}, "more than `prosody_values`"),
        ({"input_shape": (40, 1), "prosody_weight": 1.0}, "prosody_weight"),
        ({"input_shape": (40, 1), "mlp_l2": -1.0}, "mlp_l2"),
        ({"input_shape": (40, 1), "hidden_units": 0}, "hidden_units"),
    ],
)
def test_prosody_fusion_rejects_bad_arguments(kwargs, message):
    with pytest.raises(KserModelError, match=message):
        ProsodyFusionClassifier(**kwargs)
