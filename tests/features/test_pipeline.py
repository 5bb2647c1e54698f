"""extract_features and FeatureSet: values, order, batches, shuffling, augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

import kser.features
from kser.augment import apply_augmentation, build_augmentation
from kser.data.audio import load_clip
from kser.errors import KserDataError, KserFeatureError
from kser.features.pipeline import extract_features
from tests.features.clips import CLIP_SECONDS, SAMPLE_RATE, write_manifest


@pytest.fixture(scope="module")
def extractor():
    return kser.features.get("mel", n_mels=16)


@pytest.fixture
def manifest(tmp_path):
    return write_manifest(tmp_path / "audio", n_clips=7)


@pytest.fixture
def feature_set(manifest, extractor, tmp_path):
    return extract_features(
        manifest,
        extractor,
        clip_seconds=CLIP_SECONDS,
        cache_root=tmp_path / "cache",
        batch_size=3,
        shard_size=3,
        progress=False,
    )


def test_cached_features_equal_the_extractor_on_each_clip_in_manifest_order(
    feature_set, manifest, extractor
):
    waves = np.stack([load_clip(p, SAMPLE_RATE, CLIP_SECONDS) for p in manifest["path"]])
    expected = extractor(tf.constant(waves)).numpy()
    stored = feature_set.as_numpy()
    assert stored.shape == (7, 16, extractor.n_frames(int(SAMPLE_RATE * CLIP_SECONDS)))
    assert feature_set.shape == stored.shape[1:]
    np.testing.assert_allclose(stored, expected, rtol=1e-5, atol=1e-4)
    assert feature_set.paths == tuple(manifest["path"])


def test_features_default_to_the_cache_root_from_the_environment(
    manifest, extractor, tmp_path, monkeypatch
):
    monkeypatch.setenv("KSER_CACHE", str(tmp_path / "env_cache"))
    feature_set = extract_features(manifest, extractor, clip_seconds=CLIP_SECONDS, progress=False)
    assert str(feature_set.directory).startswith(str(tmp_path / "env_cache"))


def test_dataset_batches_hold_the_requested_clips_with_their_labels(feature_set):
    labels = np.arange(7) % 6
    indices = np.array([6, 1, 4, 2])
    batches = list(feature_set.dataset(indices, labels, batch_size=3))
    assert [x.shape[0] for x, _ in batches] == [3, 1]
    features = np.concatenate([x.numpy() for x, _ in batches])
    targets = np.concatenate([y.numpy() for _, y in batches])
    np.testing.assert_array_equal(features, feature_set.as_numpy()[indices])
    np.testing.assert_array_equal(targets, labels[indices])


def _order(dataset, feature_set):
    """Manifest rows in the order a dataset yields them (each clip's features are unique)."""
    reference = feature_set.as_numpy().reshape(len(feature_set), -1)
    rows = []
    for x, _ in dataset:
        for clip in x.numpy().reshape(x.shape[0], -1):
            rows.append(int(np.argmin(np.abs(reference - clip).sum(axis=1))))
    return rows


def test_shuffling_is_seeded_and_reshuffles_each_epoch(feature_set):
    labels = np.zeros(7, dtype=int)
    indices = np.arange(7)
    first = feature_set.dataset(indices, labels, batch_size=2, shuffle=True, seed=3)
    again = feature_set.dataset(indices, labels, batch_size=2, shuffle=True, seed=3)
    other = feature_set.dataset(indices, labels, batch_size=2, shuffle=True, seed=4)
    epoch_one, epoch_two = _order(first, feature_set), _order(first, feature_set)
    assert sorted(epoch_one) == list(range(7))
    assert epoch_one == _order(again, feature_set)
    assert epoch_one != epoch_two
    assert epoch_one != _order(other, feature_set)


def test_batches_feed_the_training_augmentation(feature_set):
    labels = np.arange(7) % 6
    plain = feature_set.dataset([0, 1, 2], labels, batch_size=3)
    augmentation = build_augmentation("mel", "frequency_mask,time_mask", seed=1)
    (x, y), (augmented_x, augmented_y) = next(
        zip(plain, apply_augmentation(plain, augmentation, training=True), strict=True)
    )
    assert augmented_x.shape == x.shape
    np.testing.assert_array_equal(augmented_y.numpy(), y.numpy())
    assert not np.allclose(augmented_x.numpy(), x.numpy())


def test_dataset_normalizes_with_the_given_normalizer(feature_set):
    labels = np.zeros(7, dtype=int)
    normalizer = feature_set.fit_normalizer("clip", [0, 1, 2])
    x = next(iter(feature_set.dataset([3, 4], labels, normalizer=normalizer)))[0].numpy()
    np.testing.assert_allclose(x.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(x.std(axis=(1, 2)), 1.0, atol=1e-3)


def test_dataset_rejects_labels_not_aligned_with_the_manifest(feature_set):
    with pytest.raises(KserFeatureError, match="one class index per manifest row"):
        feature_set.dataset([0, 1], np.zeros(3, dtype=int))
    with pytest.raises(KserFeatureError, match="indices must lie in"):
        feature_set.dataset([0, 7], np.zeros(7, dtype=int))


def test_a_bad_clip_raises_naming_the_file_and_leaves_the_set_incomplete(
    manifest, extractor, tmp_path
):
    broken = manifest["path"][4]
    with open(broken, "wb") as stream:
        stream.write(b"RIFF but not really a wave file" * 10)
    with pytest.raises(KserDataError, match="clip_4.wav"):
        extract_features(
            manifest,
            extractor,
            clip_seconds=CLIP_SECONDS,
            cache_root=tmp_path / "cache",
            shard_size=3,
            progress=False,
        )
    (directory,) = (tmp_path / "cache" / "features").iterdir()
    assert not (directory / "COMPLETE").exists()
    assert not list(directory.glob(".*.tmp"))


@pytest.mark.real
def test_real_clips_extract_to_the_expected_shape(nemo_dir, tmp_path, extractor):
    from kser.data import load_corpus

    manifest = load_corpus(nemo_dir, verbose=False).manifest.iloc[:4]
    feature_set = extract_features(
        manifest, extractor, cache_root=tmp_path / "cache", progress=False
    )
    features = feature_set.as_numpy()
    assert features.shape == (4, 16, 301)
    assert np.isfinite(features).all() and features.std() > 0
