"""openSMILE features: values of synthetic tones, the cache, parameters and the missing package."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from kser import features
from kser.errors import KserFeatureError
from kser.features import cache
from kser.features.pipeline import extract_features
from tests.helpers import tone, write_audio

pytest.importorskip("opensmile")


@pytest.fixture(scope="module")
def egemaps():
    return features.get("egemaps")


def test_egemaps_gives_88_finite_values_that_follow_the_pitch(egemaps):
    waves = np.stack([tone(150.0, 1.0), tone(300.0, 1.0), np.zeros(16000, np.float32)])
    values = np.asarray(egemaps(waves))
    assert values.shape == (3, 88, 1)
    assert np.isfinite(values).all()
    names = egemaps.value_names()
    assert len(names) == 88
    pitch = values[:, names.index("F0semitoneFrom27.5Hz_sma3nz_amean"), 0]
    # A 300 Hz tone sits an octave (12 semitones) above a 150 Hz one.
    assert pitch[1] - pitch[0] == pytest.approx(12.0, abs=1.0)


def test_recorded_parameters_rebuild_it_and_another_version_is_refused(egemaps):
    assert features.get("egemaps", **egemaps.params).params == egemaps.params
    assert egemaps.params["feature_set"] == "eGeMAPSv02"
    assert egemaps.params["feature_level"] == "Functionals"
    with pytest.raises(KserFeatureError, match="opensmile 0.0.1"):
        features.get("egemaps", **{**egemaps.params, "opensmile_version": "0.0.1"})
    with pytest.raises(KserFeatureError, match="ComParE_2016"):
        features.get("egemaps", feature_set="ComParE_2016")


def test_features_are_cached_under_a_key_of_their_parameters(egemaps, tmp_path, monkeypatch):
    paths = [tmp_path / f"clip{k}.wav" for k in range(3)]
    for k, path in enumerate(paths):
        write_audio(path, tone(180.0 + 40 * k, 0.5))
    manifest = pd.DataFrame({"path": [str(path) for path in paths]})
    first = extract_features(
        manifest, egemaps, clip_seconds=0.5, cache_root=tmp_path, progress=False
    )
    assert first.shape == (88, 1)

    def no_extraction(waves):
        raise AssertionError("features were extracted again instead of read from the cache")

    monkeypatch.setattr(egemaps, "functionals", no_extraction)
    again = extract_features(
        manifest, egemaps, clip_seconds=0.5, cache_root=tmp_path, progress=False
    )
    assert again.key == first.key
    np.testing.assert_array_equal(again.as_numpy(), first.as_numpy())

    key = cache.cache_key(cache.key_inputs(manifest["path"], egemaps, 0.5))
    other_rate = features.get("egemaps", sample_rate=8000)
    assert cache.cache_key(cache.key_inputs(manifest["path"], other_rate, 0.5)) != key
    compare = features.get("compare")
    assert compare.n_bins == 6373
    assert cache.cache_key(cache.key_inputs(manifest["path"], compare, 0.5)) != key


def test_missing_opensmile_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "opensmile", None)  # `import opensmile` now fails
    with pytest.raises(KserFeatureError, match=r"pip install 'kser\[baselines\]'"):
        features.get("compare")
