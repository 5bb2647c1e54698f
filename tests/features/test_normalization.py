"""Per-clip, per-speaker and global (training-split) normalization."""

from __future__ import annotations

import numpy as np
import pytest

import kser.features
from kser.errors import KserFeatureError
from kser.features.normalization import (
    NORMALIZATIONS,
    Normalizer,
    per_clip_normalize,
    per_speaker_normalize,
)
from kser.features.pipeline import extract_features
from tests.features.clips import CLIP_SECONDS, write_manifest


def gaussian_features(n_clips, mean, std, seed, n_bins=4, n_frames=20):
    rng = np.random.default_rng(seed)
    # A per-bin offset, so per-bin statistics differ from pooled ones.
    offsets = np.arange(n_bins, dtype=np.float32)[:, None]
    return (rng.normal(mean, std, (n_clips, n_bins, n_frames)) + offsets).astype(np.float32)


def test_per_clip_normalization_gives_each_clip_zero_mean_unit_std():
    features = gaussian_features(3, mean=-40.0, std=7.0, seed=0)
    features[1] *= 3.0
    normalized = per_clip_normalize(features)
    np.testing.assert_allclose(normalized.mean(axis=(1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(normalized.std(axis=(1, 2)), 1.0, atol=1e-5)


def test_per_speaker_statistics_come_from_that_speakers_own_clips():
    loud = gaussian_features(3, mean=10.0, std=2.0, seed=1)
    quiet = gaussian_features(2, mean=-5.0, std=0.5, seed=2)
    features = np.concatenate([loud, quiet])
    speakers = np.array(["A", "A", "A", "B", "B"])
    normalized = per_speaker_normalize(features, speakers)
    for speaker in ("A", "B"):
        own = normalized[speakers == speaker]
        np.testing.assert_allclose(own.mean(axis=(0, 2)), 0.0, atol=1e-4)
        np.testing.assert_allclose(own.std(axis=(0, 2)), 1.0, atol=1e-4)
    # Speaker A's result must not depend on speaker B's clips.
    alone = per_speaker_normalize(loud, speakers[:3])
    np.testing.assert_allclose(normalized[:3], alone, atol=1e-6)


def test_global_statistics_come_from_the_training_clips_only():
    train = gaussian_features(40, mean=5.0, std=2.0, seed=3)
    test = gaussian_features(40, mean=-3.0, std=0.5, seed=4)
    normalizer = Normalizer("global").fit(train)
    train_mean, train_std = train.mean(axis=(0, 2)), train.std(axis=(0, 2))
    np.testing.assert_allclose(normalizer.mean, train_mean, rtol=1e-5)
    np.testing.assert_allclose(normalizer.std, train_std, rtol=1e-5)
    pooled = np.concatenate([train, test])
    assert not np.allclose(normalizer.mean, pooled.mean(axis=(0, 2)), atol=1.0)
    np.testing.assert_allclose(normalizer.transform(train).mean(axis=(0, 2)), 0.0, atol=1e-4)
    # Test clips keep their shift relative to training, about (-3 - 5) / 2 = -4.
    np.testing.assert_allclose(
        normalizer.transform(test).mean(axis=(0, 2)),
        (test.mean(axis=(0, 2)) - train_mean) / train_std,
        rtol=1e-4,
    )
    assert np.all(normalizer.transform(test).mean(axis=(0, 2)) < -3.5)


def test_feature_set_fits_global_statistics_on_the_training_rows(tmp_path):
    amplitudes = [0.5, 0.5, 0.5, 0.01, 0.01, 0.01]
    manifest = write_manifest(tmp_path / "audio", amplitudes=amplitudes)
    feature_set = extract_features(
        manifest,
        kser.features.get("mel", n_mels=8),
        clip_seconds=CLIP_SECONDS,
        cache_root=tmp_path / "cache",
        progress=False,
    )
    train, test = np.array([0, 1, 2]), np.array([3, 4, 5])
    features = feature_set.as_numpy()
    normalizer = feature_set.fit_normalizer("global", train)
    np.testing.assert_allclose(normalizer.mean, features[train].mean(axis=(0, 2)), rtol=1e-5)
    assert not np.allclose(normalizer.mean, features.mean(axis=(0, 2)), rtol=1e-2)
    assert feature_set.fit_normalizer("global", test).mean.mean() < normalizer.mean.mean()


@pytest.mark.parametrize("spec", ["global", "clip+global", "speaker+global"])
def test_saved_statistics_reproduce_the_same_transform(tmp_path, spec):
    train = gaussian_features(6, mean=2.0, std=3.0, seed=5)
    other = gaussian_features(4, mean=0.0, std=1.0, seed=6)
    train_speakers, other_speakers = ["A", "B"] * 3, ["C", "C", "D", "D"]
    fitted = Normalizer(spec).fit(train, train_speakers)
    path = fitted.save(tmp_path / "bundle" / "normalization.json")
    loaded = Normalizer.load(path)
    assert loaded.spec == spec
    np.testing.assert_array_equal(
        loaded.transform(other, other_speakers), fitted.transform(other, other_speakers)
    )
    assert not list(path.parent.glob(".*.tmp"))


def test_every_named_spec_normalizes_without_nan():
    features = gaussian_features(4, mean=1.0, std=1.0, seed=7)
    features[:, 0, :] = 3.0  # a constant bin: std 0
    speakers = ["A", "A", "B", "B"]
    for spec in NORMALIZATIONS:
        normalized = Normalizer(spec).fit(features, speakers).transform(features, speakers)
        assert normalized.shape == features.shape and np.isfinite(normalized).all(), spec


def test_bad_use_raises_naming_the_problem(tmp_path):
    features = gaussian_features(2, mean=0.0, std=1.0, seed=8)
    with pytest.raises(KserFeatureError, match="unknown normalization"):
        Normalizer("z-score")
    with pytest.raises(KserFeatureError, match="speakers=None"):
        Normalizer("speaker").transform(features)
    with pytest.raises(KserFeatureError, match="fit"):
        Normalizer("clip+global").transform(features)
    with pytest.raises(KserFeatureError, match="4 bins"):
        Normalizer("global").fit(features).transform(features[:, :3])
    with pytest.raises(KserFeatureError, match="one speaker id per clip"):
        per_speaker_normalize(features, ["A"])
    (tmp_path / "junk.json").write_text("[1, 2]")
    with pytest.raises(KserFeatureError, match="junk.json"):
        Normalizer.load(tmp_path / "junk.json")
