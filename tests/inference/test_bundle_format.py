"""Bundle format 2 (every input keyed by name) is written; format 1 is still read."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kser.training.bundle as old_location
from kser.errors import KserBundleError
from kser.inference import bundle as bundle_module
from kser.inference.bundle import BUNDLE_FILE, load_bundle, save_bundle
from tests.helpers import tone
from tests.inference.version_1 import save_version_1_bundle
from tests.training.helpers import make_bundle


@pytest.fixture(scope="module")
def bundle():
    return make_bundle(normalization="speaker+global")


def _waves():
    return [tone(180.0 * (k + 1), 0.9) for k in range(3)]


def test_a_saved_bundle_is_format_2_with_its_input_named(bundle, tmp_path):
    directory = save_bundle(bundle, tmp_path / "bundle")
    info = json.loads((directory / BUNDLE_FILE).read_text())
    assert info["format"] == "kser-bundle/2"
    assert "feature" not in info and list(info["features"]) == ["features"]
    assert info["features"]["features"]["name"] == "mel"
    assert info["normalization"] == {"features": "speaker+global"}
    assert (directory / "normalizer.features.json").is_file()
    assert not (directory / "normalizer.json").exists()
    loaded = load_bundle(directory)
    assert list(loaded.extractors) == list(loaded.normalizers) == ["features"]
    assert loaded.extractor.params == bundle.extractor.params


def test_bundle_save_and_load_round_trip_to_the_same_predictions(bundle, tmp_path):
    from kser.inference.bundle import Bundle

    directory = bundle.save(tmp_path / "bundle")
    loaded = Bundle.load(tmp_path)  # a run directory holding the bundle is found too
    assert directory == tmp_path / "bundle" and loaded.directory == directory
    features = np.random.default_rng(0).normal(size=(3, *bundle.model.input_shape[1:]))
    np.testing.assert_allclose(
        loaded.predict_features(features), bundle.predict_features(features), atol=1e-6
    )


def test_a_version_1_bundle_loads_and_predicts_as_the_saved_model(bundle, tmp_path):
    directory = save_version_1_bundle(bundle, tmp_path / "old")
    assert json.loads((directory / BUNDLE_FILE).read_text())["format"] == "kser-bundle/1"
    loaded = load_bundle(directory)
    assert list(loaded.extractors) == ["features"]
    np.testing.assert_array_equal(loaded.normalizer.mean, bundle.normalizer.mean)
    np.testing.assert_allclose(
        loaded.predict_waveforms(_waves()), bundle.predict_waveforms(_waves()), atol=1e-6
    )
    # Saved again, it is a format 2 bundle of the same model.
    again = load_bundle(save_bundle(loaded, tmp_path / "new"))
    assert json.loads((again.directory / BUNDLE_FILE).read_text())["format"] == "kser-bundle/2"
    np.testing.assert_allclose(
        again.predict_waveforms(_waves()), bundle.predict_waveforms(_waves()), atol=1e-6
    )


def test_a_version_1_bundle_without_its_statistics_names_the_file(bundle, tmp_path):
    directory = save_version_1_bundle(bundle, tmp_path / "old")
    (directory / "normalizer.json").unlink()
    with pytest.raises(KserBundleError, match="incomplete bundle, normalizer.json is missing"):
        load_bundle(directory)


def test_an_unknown_format_is_refused_naming_those_read(bundle, tmp_path):
    directory = save_bundle(bundle, tmp_path / "bundle")
    info = json.loads((directory / BUNDLE_FILE).read_text())
    (directory / BUNDLE_FILE).write_text(json.dumps({**info, "format": "kser-bundle/9"}))
    with pytest.raises(KserBundleError, match="kser-bundle/1 or kser-bundle/2.*'kser-bundle/9'"):
        load_bundle(directory)


def test_the_old_import_paths_give_the_same_objects():
    from kser.training import Bundle, load_bundle, save_bundle

    assert old_location.load_bundle is load_bundle is bundle_module.load_bundle
    assert old_location.save_bundle is save_bundle is bundle_module.save_bundle
    assert old_location.Bundle is Bundle is bundle_module.Bundle


def test_a_model_with_an_unnamed_input_is_keyed_by_its_saved_name(bundle, tmp_path):
    import dataclasses

    import keras

    inputs = keras.Input(bundle.model.inputs[0].shape[1:])  # named by Keras, not by kser
    model = keras.Model(inputs, keras.layers.Dense(6)(keras.layers.Flatten()(inputs)))
    directory = save_bundle(dataclasses.replace(bundle, model=model), tmp_path / "bundle")
    loaded = load_bundle(directory)
    (name,) = json.loads((directory / BUNDLE_FILE).read_text())["features"]
    assert list(loaded.extractors) == [name] == [loaded.model.inputs[0].name]
    assert (directory / f"normalizer.{name}.json").is_file()
