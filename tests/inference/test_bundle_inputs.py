"""A bundle keys its extractors and normalizers by the model's input name, whatever the model."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from kser.errors import KserBundleError
from kser.inference.bundle import BUNDLE_FILE, Bundle, load_bundle, save_bundle
from kser.speakers.statistics import SpeakerPrior
from tests.export.helpers import make_ensemble_bundle
from tests.training.helpers import make_bundle


@pytest.fixture(scope="module")
def single():
    return make_bundle()


@pytest.fixture(scope="module")
def ensemble():
    return make_ensemble_bundle()


def test_a_single_input_bundle_keys_its_objects_by_the_model_input_name(single):
    assert [tensor.name for tensor in single.model.inputs] == ["features"]
    assert type(single.extractors) is dict and type(single.normalizers) is dict
    assert list(single.extractors) == list(single.normalizers) == ["features"]
    assert single.extractor is single.extractors["features"]
    assert single.normalizer is single.normalizers["features"]
    # The state is the dicts: the dataclass fields, not properties made from one object.
    fields = [field.name for field in dataclasses.fields(Bundle)]
    assert "extractors" in fields and "normalizers" in fields
    assert "extractor" not in fields and "normalizer" not in fields
    assert single.single_input


def test_one_object_or_a_dict_make_the_same_single_input_bundle(single):
    given = {"features": single.extractor}, {"features": single.normalizer}
    keyed = Bundle(single.model, *given, single.labels, single.clip_seconds)
    assert keyed.extractor is single.extractor and keyed.normalizer is single.normalizer
    # A one-entry dict is keyed by the model's input name, whatever its key.
    renamed = Bundle(
        single.model, {"x": single.extractor}, {"x": single.normalizer}, single.labels, 1.0
    )
    assert list(renamed.extractors) == list(renamed.normalizers) == ["features"]


def test_extractor_and_normalizer_are_read_only(single):
    bundle = dataclasses.replace(single)
    with pytest.raises(AttributeError):
        bundle.extractor = single.extractor
    with pytest.raises(AttributeError):
        bundle.normalizer = single.normalizer


def test_a_multi_input_bundle_has_no_single_extractor_or_normalizer(ensemble):
    assert not ensemble.single_input
    assert sorted(ensemble.extractors) == sorted(ensemble.normalizers) == ["mel", "rms"]
    with pytest.raises(KserBundleError, match=r"inputs by name \(mel, rms\).*\.extractors"):
        _ = ensemble.extractor
    with pytest.raises(KserBundleError, match=r"inputs by name \(mel, rms\).*\.normalizers"):
        _ = ensemble.normalizer


def test_a_multi_input_model_needs_a_dict_of_inputs(ensemble, single):
    with pytest.raises(KserBundleError, match=r"inputs are \['mel', 'rms'\].*extractors"):
        Bundle(ensemble.model, single.extractor, ensemble.normalizers, ensemble.labels, 1.0)
    features = np.zeros((2, *single.model.input_shape[1:]), dtype="float32")
    with pytest.raises(KserBundleError, match=r"dict of features by input name \(mel, rms\)"):
        ensemble.predict_features(features)


def test_a_single_input_bundle_round_trips_with_the_same_keys(single, tmp_path):
    directory = save_bundle(single, tmp_path / "bundle")
    info = json.loads((directory / BUNDLE_FILE).read_text())
    assert list(info["features"]) == list(info["normalization"]) == ["features"]
    loaded = load_bundle(directory)
    assert list(loaded.extractors) == list(loaded.normalizers) == list(single.extractors)
    assert loaded.extractor.params == single.extractor.params
    np.testing.assert_array_equal(loaded.normalizer.mean, single.normalizer.mean)


def test_a_multi_input_bundle_round_trips_with_the_same_keys(ensemble, tmp_path):
    directory = save_bundle(ensemble, tmp_path / "ensemble")
    info = json.loads((directory / BUNDLE_FILE).read_text())
    assert sorted(info["features"]) == sorted(info["normalization"]) == ["mel", "rms"]
    assert all((directory / f"normalizer.{name}.json").is_file() for name in ("mel", "rms"))
    loaded = load_bundle(directory)
    assert sorted(loaded.extractors) == sorted(loaded.normalizers) == ["mel", "rms"]
    for name, extractor in ensemble.extractors.items():
        assert loaded.extractors[name].params == extractor.params
        assert loaded.normalizers[name].spec == ensemble.normalizers[name].spec
    features = loaded._extract(np.random.default_rng(0).normal(size=(2, 16000)).astype("float32"))
    assert sorted(features) == ["mel", "rms"]
    np.testing.assert_allclose(
        loaded.predict_features(features), ensemble.predict_features(features), atol=1e-5
    )


def _with_prior(bundle, name):
    normalizer = bundle.normalizers[name]
    bins = bundle.extractors[name].n_bins
    prior = SpeakerPrior(np.full(bins, -40.0), np.full(bins, 10.0), 5.0)
    changed = type(normalizer)(normalizer.spec, normalizer.mean, normalizer.std, prior)
    return dataclasses.replace(bundle, normalizers={**bundle.normalizers, name: changed})


def test_with_prior_clips_keeps_the_single_input_key(single):
    bundle = _with_prior(single, "features")
    changed = bundle.with_prior_clips(12.0)
    assert list(changed.normalizers) == ["features"]
    assert changed.normalizer.prior.clips == 12.0
    assert bundle.normalizer.prior.clips == 5.0


def test_with_prior_clips_keeps_every_input_key(ensemble):
    bundle = _with_prior(ensemble, "mel")
    changed = bundle.with_prior_clips(12.0)
    assert list(changed.normalizers) == list(bundle.normalizers)
    assert changed.normalizers["mel"].prior.clips == 12.0
    # An input without a speaker prior is left as it is.
    assert changed.normalizers["rms"] is bundle.normalizers["rms"]
