"""Speaker profiles: saved, reloaded and extended without losing a value."""

from __future__ import annotations

import numpy as np
import pytest

import kser
from kser.errors import KserDataError


def test_a_profile_round_trips_through_json_exactly(tmp_path):
    profile = kser.SpeakerProfile({"features": {"name": "functionals"}})
    rng = np.random.default_rng(0)
    first = rng.normal(size=(2, 5, 1)).astype(np.float32)
    profile.add({"": first}, ["a.wav", "a.wav"])
    profile.save(tmp_path / "p.json")
    loaded = kser.SpeakerProfile.load(tmp_path / "p.json")
    np.testing.assert_array_equal(loaded.features[""], first)
    assert loaded.clips == ["a.wav", "a.wav"] and loaded.bundle == profile.bundle
    more = rng.normal(size=(1, 5, 1)).astype(np.float32)
    loaded.add({"": more}, ["b.wav"])
    np.testing.assert_array_equal(loaded.features[""], np.concatenate([first, more]))
    assert loaded.statistics()[""]["clips"] == 3
    with pytest.raises(KserDataError, match="shape"):
        loaded.add({"": np.zeros((1, 4, 1))}, ["c.wav"])


def test_a_damaged_profile_is_named(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(
        '{"format": "kser-speaker-profile/1", "bundle": {}, "clips": ["x"], '
        '"features": {"": {"shape": [1, 2, 1], "float32_zlib_base64": "AAAA"}}}'
    )
    with pytest.raises(KserDataError, match=f"{path}: cannot read speaker profile"):
        kser.SpeakerProfile.load(path)
