import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import kser.features
from kser.augment import (
    DEFAULT_CHAINS,
    FEATURE_FAMILIES,
    apply_augmentation,
    augmentation_names,
    build_augmentation,
    build_waveform_augmentation,
)
from kser.errors import KserFeatureError
from tests.helpers import REPO_ROOT

N_BINS = {"chroma": 12, "tonnetz": 6, "zcr": 1, "rms": 1}


def feature_batch(feature_name, batch_size=2, n_frames=20, seed=0):
    shape = (batch_size, N_BINS.get(feature_name, 16), n_frames)
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def batched_dataset(features, batch_size=2):
    """(features, labels) batches; the label of example i is i, to follow it."""
    labels = np.arange(len(features), dtype=np.int64)
    return tf.data.Dataset.from_tensor_slices((features, labels)).batch(batch_size)


def collect(dataset):
    features, labels = zip(*dataset.as_numpy_iterator(), strict=True)
    return np.concatenate(features), np.concatenate(labels)


def always(feature_name):
    """Params that apply every step of the default chain to every example."""
    return {name: {"probability": 1.0} for name in DEFAULT_CHAINS[FEATURE_FAMILIES[feature_name]]}


def test_every_registered_feature_has_a_family():
    model_inputs = {"waveform", "stack", "functionals", "pitch", "prosody"}
    assert set(kser.features.names()) | model_inputs <= set(FEATURE_FAMILIES)


FRAME_LEVEL_FEATURES = sorted(
    name for name, family in FEATURE_FAMILIES.items() if family != "utterance"
)


@pytest.mark.parametrize("feature_name", FRAME_LEVEL_FEATURES)
def test_default_chain_keeps_shape_and_labels_and_changes_features(feature_name):
    augmentation = build_augmentation(feature_name, seed=1, params=always(feature_name))
    assert augmentation.names == DEFAULT_CHAINS[FEATURE_FAMILIES[feature_name]]
    if feature_name == "waveform":
        features = np.random.default_rng(0).normal(size=(5, 1600)).astype(np.float32)
    else:
        features = feature_batch(feature_name, batch_size=5)
    # Batches of 2 leave a partial last batch: the map must not need a fixed batch size.
    out, labels = collect(batched_dataset(features).map(augmentation))
    assert out.shape == features.shape
    np.testing.assert_array_equal(labels, np.arange(5))
    assert np.all(np.isfinite(out))
    assert not np.allclose(out, features)


def test_spec_none_builds_nothing_and_explicit_names_keep_their_order():
    assert build_augmentation("mel", "none") is None
    assert build_waveform_augmentation("none") is None
    assert build_augmentation("mel", "time_shift, frequency_mask").names == (
        "time_shift",
        "frequency_mask",
    )
    assert "pitch_shift" in augmentation_names("chroma")
    assert "frequency_mask" not in augmentation_names("zcr")


def test_utterance_functionals_get_no_default_chain_and_only_noise_by_name():
    # Frames are already summarised: masking or shifting them means nothing.
    assert build_augmentation("functionals", "default") is None
    assert build_augmentation("prosody", "default") is None
    assert augmentation_names("functionals") == ("noise",)
    assert build_augmentation("functionals", "noise").names == ("noise",)
    with pytest.raises(KserFeatureError, match="time_mask"):
        build_augmentation("functionals", "time_mask")


@pytest.mark.parametrize(
    "feature_name, spec, message",
    [
        ("zcr", "frequency_mask", "amplitude_modulation"),  # not applicable: lists the valid
        ("mel", "time_mask,warble", "warble"),
        ("mel", "time_mask,time_mask", "repeats"),
        ("mel", "", "valid"),
        ("waveform", "frequency_mask", "reverb"),
        ("formants", "default", "feature_name='formants'"),
    ],
)
def test_bad_specs_name_the_problem(feature_name, spec, message):
    with pytest.raises(KserFeatureError, match=message):
        build_augmentation(feature_name, spec)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"time_shift": {"shift": (0, 0.1)}}, "not in the chain"),
        ({"time_mask": {"height": 3}}, "count"),
        ({"noise": {"probability": 1.5}}, "probability"),
    ],
)
def test_bad_params_name_the_problem(params, message):
    with pytest.raises(KserFeatureError, match=message):
        build_augmentation("mel", "default", params=params)


def test_the_same_seed_gives_the_same_output_and_another_seed_another():
    features = feature_batch("mel", batch_size=4)

    def run(seed):
        augmentation = build_augmentation("mel", seed=seed, params=always("mel"))
        return collect(batched_dataset(features).map(augmentation))[0]

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.allclose(run(3), run(4))


def test_parallel_unordered_map_gives_each_batch_the_same_draws():
    features = feature_batch("mel", batch_size=8)
    augmentation = build_augmentation("mel", seed=2, params=always("mel"))
    sequential, _ = collect(batched_dataset(features).map(augmentation))
    parallel = batched_dataset(features).map(
        augmentation, num_parallel_calls=4, deterministic=False
    )
    out, labels = collect(parallel)
    np.testing.assert_array_equal(out[np.argsort(labels)], sequential)


def test_evaluation_pipelines_are_left_untouched():
    features = feature_batch("mel", batch_size=4)
    dataset = batched_dataset(features)
    augmentation = build_augmentation("mel", params=always("mel"))
    assert apply_augmentation(dataset, augmentation, training=False) is dataset
    out, labels = collect(apply_augmentation(dataset, augmentation, training=False))
    np.testing.assert_array_equal(out, features)
    np.testing.assert_array_equal(labels, np.arange(4))
    assert apply_augmentation(dataset, None, training=True) is dataset


def test_training_pipeline_augments_each_clip_in_place_with_fresh_draws_per_epoch():
    features = feature_batch("mel", batch_size=6)
    augmentation = build_augmentation("mel", seed=5, params=always("mel"))
    train = apply_augmentation(batched_dataset(features), augmentation, training=True)
    first, labels = collect(train)
    second, _ = collect(train)
    # One augmented copy per clip, same label, same position: nothing leaves its split.
    np.testing.assert_array_equal(labels, np.arange(6))
    assert first.shape == features.shape and not np.allclose(first, features)
    correlation = np.corrcoef(first.reshape(6, -1), features.reshape(6, -1))[:6, 6:]
    np.testing.assert_array_equal(np.argmax(correlation, axis=1), np.arange(6))
    assert not np.allclose(first, second)
    fresh = apply_augmentation(batched_dataset(features), augmentation, training=True)
    np.testing.assert_array_equal(collect(fresh)[0], first)
    np.testing.assert_array_equal(collect(fresh)[0], second)


def test_waveform_chain_honours_the_sample_rate():
    augmentation = build_waveform_augmentation("time_stretch,reverb", sample_rate=8000)
    assert all(step.params["sample_rate"] == 8000 for step in augmentation.steps)
    with pytest.raises(KserFeatureError, match="sample_rate"):
        build_waveform_augmentation(sample_rate=0)


_TORCH_SCRIPT = """
import json, sys
import keras
import numpy as np
import tensorflow as tf
from kser.augment import apply_augmentation, build_augmentation
features = np.asarray(json.loads(sys.stdin.read()), np.float32)
tf.random.set_seed(0)
dataset = tf.data.Dataset.from_tensor_slices((features, np.arange(len(features)))).batch(2)
augmentation = build_augmentation("mel", seed=9, params={"noise": {"probability": 1.0}})
out = np.concatenate([x for x, _ in apply_augmentation(dataset, augmentation, training=True)])
print(json.dumps({"backend": keras.backend.backend(), "out": out.tolist()}))
"""


def test_augmentation_runs_the_same_under_the_torch_backend():
    pytest.importorskip("torch")
    features = feature_batch("mel", batch_size=3)
    environment = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", _TORCH_SCRIPT],
        input=json.dumps(features.tolist()),
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO_ROOT,
        timeout=120,
        check=True,
    )
    reply = json.loads(result.stdout.strip().splitlines()[-1])
    assert reply["backend"] == "torch"
    # Same global seed on both sides: tf.data's per-epoch salt stream depends on it.
    tf.random.set_seed(0)
    augmentation = build_augmentation("mel", seed=9, params={"noise": {"probability": 1.0}})
    dataset = apply_augmentation(batched_dataset(features), augmentation, training=True)
    np.testing.assert_allclose(reply["out"], collect(dataset)[0], atol=1e-6)
