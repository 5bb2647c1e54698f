"""WeightedEnsemble and its WeightedLogits combiner, under TensorFlow and (subprocess) torch."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from kser.errors import KserModelError
from kser.evaluation.calibration import expected_calibration_error, reliability_bins
from kser.models.weighted_ensemble import WeightedEnsemble, WeightedLogits
from tests.helpers import REPO_ROOT
from tests.models.weighted_ensemble_checks import (
    NUM_CLASSES,
    SHAPES,
    check_save_load_predict,
    predict,
    tiny_ensemble,
    tiny_inputs,
    tiny_member,
)


def passthrough_member(name):
    """A frozen member whose logits are its input: the test decides what each member says."""
    inputs = keras.Input(shape=(NUM_CLASSES,), name="features")
    outputs = keras.layers.Identity(name=f"{name}_logits")(inputs)
    return keras.Model(inputs, outputs, name=f"{name}_member")


def informative_and_noise_task(n=600, seed=0):
    """Labels, logits of an informative member (right class gets +3), and pure-noise logits."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, n)
    informative = rng.standard_normal((n, NUM_CLASSES)) + 3.0 * np.eye(NUM_CLASSES)[labels]
    noise = 3.0 * rng.standard_normal((n, NUM_CLASSES))
    features = {"informative": informative.astype("float32"), "noise": noise.astype("float32")}
    return features, labels


def fit_passthrough_ensemble(features, labels, normalization, l1, steps=200):
    """Fit an ensemble of passthrough members on full batches; returns {feature: weight}."""
    keras.utils.set_random_seed(0)
    names = list(features)
    ensemble = WeightedEnsemble(
        [passthrough_member(name) for name in names], names, normalization=normalization, l1=l1
    )
    ensemble.compile(
        optimizer=keras.optimizers.Adam(0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    # `steps` full-batch steps in one epoch: Keras' per-epoch overhead dwarfs these tiny steps.
    ensemble.fit(
        {name: np.tile(values, (steps, 1)) for name, values in features.items()},
        np.tile(labels, steps),
        batch_size=len(labels),
        shuffle=False,
        verbose=0,
    )
    return dict(zip(names, ensemble.mixing_weights().values(), strict=True))


def test_inputs_are_one_per_feature_and_members_sharing_a_feature_share_it():
    ensemble = tiny_ensemble()
    assert sorted(ensemble.input.keys()) == ["mel", "mfcc"]
    logits = predict(ensemble, tiny_inputs(batch=3))
    assert logits.shape == (3, NUM_CLASSES)
    assert ensemble.member_names == ("mel_a", "mel_b", "mfcc_a")
    # Softmax weights start uniform.
    np.testing.assert_allclose(list(ensemble.mixing_weights().values()), [1 / 3] * 3, atol=1e-7)


def test_output_is_the_weighted_mix_of_member_logits_over_temperature():
    ensemble = tiny_ensemble(normalization="non_negative")
    inputs = tiny_inputs()
    ensemble.combiner.weight_logits.assign(np.array([0.2, 0.0, 1.5], dtype="float32"))
    ensemble.combiner.set_temperature(2.0)
    members = [
        predict(member, inputs[feature])
        for member, feature in zip(ensemble.members, ensemble.feature_names, strict=True)
    ]
    expected = (0.2 * members[0] + 1.5 * members[2]) / 2.0
    np.testing.assert_allclose(predict(ensemble, inputs), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("normalization", ["softmax", "non_negative"])
def test_weights_are_learned_and_the_informative_member_gets_the_larger_weight(normalization):
    features, labels = informative_and_noise_task()
    weights = fit_passthrough_ensemble(features, labels, normalization, l1=0.0)
    initial = 0.5  # uniform over two members, in both normalizations
    assert abs(weights["informative"] - initial) > 0.2, weights
    assert weights["informative"] > 2 * weights["noise"], weights


def test_l1_drives_the_useless_member_weight_to_zero():
    # "redundant" is a scaled copy of "informative": it adds nothing, yet without a
    # penalty it keeps as much weight as the informative member.
    features, labels = informative_and_noise_task(n=200, seed=2)
    features = {"informative": features["informative"], "redundant": 0.5 * features["informative"]}
    without_l1 = fit_passthrough_ensemble(features, labels, "non_negative", l1=0.0, steps=300)
    with_l1 = fit_passthrough_ensemble(features, labels, "non_negative", l1=0.05, steps=300)
    assert without_l1["redundant"] > 1.0, without_l1
    assert with_l1["redundant"] < 0.01, with_l1
    assert with_l1["informative"] > 1.0, with_l1


def test_temperature_changes_calibration_and_not_the_argmax():
    features, labels = informative_and_noise_task(n=400, seed=1)
    ensemble = WeightedEnsemble(
        [passthrough_member("informative"), passthrough_member("noise")],
        ["informative", "noise"],
    )

    def probabilities_at(temperature):
        ensemble.combiner.set_temperature(temperature)
        return keras.ops.convert_to_numpy(keras.ops.softmax(ensemble(features)))

    cold, warm = probabilities_at(1.0), probabilities_at(4.0)
    np.testing.assert_array_equal(cold.argmax(axis=1), warm.argmax(axis=1))
    assert warm.max(axis=1).mean() < cold.max(axis=1).mean()
    ece_cold = expected_calibration_error(reliability_bins(labels, cold, 10))
    ece_warm = expected_calibration_error(reliability_bins(labels, warm, 10))
    assert abs(ece_cold - ece_warm) > 0.02, (ece_cold, ece_warm)


def test_temperature_is_not_trained_by_fit():
    ensemble = tiny_ensemble()
    ensemble.combiner.set_temperature(3.0)
    assert "combiner/temperature" not in [w.path for w in ensemble.trainable_weights]
    ensemble.compile(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    ensemble.fit(tiny_inputs(), np.array([0, 1]), epochs=1, verbose=0)
    assert float(keras.ops.convert_to_numpy(ensemble.combiner.temperature)) == 3.0


def test_saves_loads_and_predicts_as_one_model_on_tensorflow(tmp_path):
    assert keras.backend.backend() == "tensorflow"
    result = check_save_load_predict(tmp_path)
    assert result["backend"] == "tensorflow"


def test_saves_loads_and_predicts_as_one_model_on_torch(tmp_path):
    pytest.importorskip("torch")
    environment = {**os.environ, "KERAS_BACKEND": "torch", "CUDA_VISIBLE_DEVICES": ""}
    completed = subprocess.run(
        [sys.executable, "-m", "tests.models.weighted_ensemble_checks", str(tmp_path)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["backend"] == "torch"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"normalization": "softmax", "l1": 0.1}, "only acts on non-negative"),
        ({"normalization": "sum"}, "normalization.*Received: normalization='sum'"),
        ({"normalization": "non_negative", "l1": -1.0}, "l1.*Received: l1=-1.0"),
        ({"temperature": 0.0}, "temperature.*Received: temperature=0.0"),
    ],
)
def test_bad_combiner_arguments_are_rejected(kwargs, message):
    with pytest.raises(KserModelError, match=message):
        WeightedLogits(2, **kwargs)


def test_bad_member_lists_are_rejected():
    mel = tiny_member("mel_a", SHAPES["mel"])
    with pytest.raises(KserModelError, match="one name per member"):
        WeightedEnsemble([mel], ["mel", "mfcc"])
    with pytest.raises(KserModelError, match="names must be unique"):
        WeightedEnsemble([mel, tiny_member("mel_a", SHAPES["mel"])], ["mel", "hpss"])
    with pytest.raises(KserModelError, match="same input shape"):
        WeightedEnsemble([mel, tiny_member("other", SHAPES["mfcc"])], ["mel", "mel"])
    with pytest.raises(KserModelError, match="must differ from feature names"):
        WeightedEnsemble([mel], ["mel_a"])
    with pytest.raises(KserModelError, match="same number of logits"):
        WeightedEnsemble([mel, tiny_member("four", SHAPES["mfcc"], 4)], ["mel", "mfcc"])
