"""Training batches with waveform-level augmentation: the same batches without it, and no
augmented clip outside the training split."""

from __future__ import annotations

import collections
import dataclasses
import hashlib

import numpy as np
import pytest
import soundfile
import tensorflow as tf

from kser import features
from kser.augment import Augmentation, AugmentationStep
from kser.data import load_clip, load_corpus, make_splits
from kser.features.pipeline import extract_features
from kser.training import augmented_batches, run_experiment
from tests.helpers import make_nemo_directory
from tests.training.helpers import TINY_CONFIG as CONFIG


@pytest.fixture(scope="module")
def distinct_corpus(tmp_path_factory):
    """The 7-speaker synthetic corpus with every clip scaled differently, so that each
    decoded waveform identifies its clip."""
    root = make_nemo_directory(tmp_path_factory.mktemp("distinct") / "nemo")
    for number, path in enumerate(sorted((root / "samples").iterdir())):
        samples, sample_rate = soundfile.read(path, dtype="float32")
        soundfile.write(path, samples * (0.5 + number / 200), sample_rate)
    return load_corpus(root, verbose=False)


def _fingerprint(wave) -> str:
    return hashlib.sha1(np.ascontiguousarray(wave, dtype=np.float32).tobytes()).hexdigest()


@pytest.mark.parametrize("normalization", ["speaker+global", "clip", "none"])
def test_without_augmentation_the_waveform_path_gives_the_cached_batches(
    distinct_corpus, normalization
):
    split = make_splits(distinct_corpus, "speaker")[0]
    extractor = features.get("mel", n_mels=16)
    feature_set = extract_features(
        distinct_corpus.manifest, extractor, clip_seconds=0.5, progress=False
    )
    normalizer = feature_set.fit_normalizer(normalization, split.train)
    labels = distinct_corpus.label_indices
    cached = feature_set.dataset(
        split.train, labels, batch_size=8, shuffle=True, seed=3, normalizer=normalizer
    )
    from_waves = augmented_batches.augmented_waveform_batches(
        feature_set, split.train, labels, extractor, normalizer, None,
        clip_seconds=0.5, batch_size=8, seed=3,
    )  # fmt: skip
    pairs = list(zip(cached.as_numpy_iterator(), from_waves.as_numpy_iterator(), strict=True))
    assert len(pairs) == -(-len(split.train) // 8)
    for (cached_x, cached_y), (wave_x, wave_y) in pairs:
        np.testing.assert_array_equal(wave_y, cached_y)
        np.testing.assert_allclose(wave_x, cached_x, atol=2e-4)


def _spy(record):
    """A one-step augmentation that passes its inputs through and hands them to `record`."""

    def spy_op(inputs, seed):
        def look(batch):
            record(batch)
            return batch

        return tf.numpy_function(look, [inputs], tf.float32, stateful=True)

    return Augmentation([AugmentationStep("spy", spy_op, probability=1.0)], seed=0)


def test_only_training_clips_are_augmented_at_either_level(distinct_corpus, tmp_path, monkeypatch):
    augmented_waves, augmented_features = collections.Counter(), []
    wave_spy = _spy(lambda batch: augmented_waves.update(_fingerprint(w) for w in batch))
    feature_spy = _spy(lambda batch: augmented_features.append(len(batch)))
    monkeypatch.setattr(augmented_batches, "build_waveform_augmentation", lambda *_, **__: wave_spy)
    monkeypatch.setattr(augmented_batches, "build_augmentation", lambda *_, **__: feature_spy)
    config = dataclasses.replace(CONFIG, epochs=2, waveform_augment="default", augment="default")

    outcome = run_experiment(distinct_corpus, config, tmp_path, verbose=0)

    split = make_splits(distinct_corpus, "speaker")[0]
    paths = distinct_corpus.manifest["path"]
    clips = {
        part: {_fingerprint(load_clip(paths.iloc[row], 16000, 0.5)) for row in rows}
        for part, rows in split.parts().items()
    }
    assert len(clips["train"]) == len(split.train)  # the fingerprints tell clips apart
    # Every training clip once per epoch, at both levels; validation and test clips never.
    assert augmented_waves == {fingerprint: config.epochs for fingerprint in clips["train"]}
    assert not set(augmented_waves) & (clips["val"] | clips["test"])
    assert sum(augmented_features) == config.epochs * len(split.train)
    assert outcome.evaluation.n == len(split.test)


def test_mixup_turns_training_batches_into_blends_with_soft_labels(distinct_corpus):
    split = make_splits(distinct_corpus, "speaker")[0]
    extractor = features.get("mel", n_mels=16)
    feature_set = extract_features(
        distinct_corpus.manifest, extractor, clip_seconds=0.5, progress=False
    )
    normalizer = feature_set.fit_normalizer("speaker+global", split.train)
    labels, n_classes = distinct_corpus.label_indices, len(distinct_corpus.labels)

    def batches(config):
        return augmented_batches.training_batches(
            feature_set, split.train, labels, extractor, normalizer, config, num_classes=n_classes
        ).as_numpy_iterator()

    pairs = list(zip(batches(CONFIG), batches(dataclasses.replace(CONFIG, mixup=1.0)), strict=True))
    shares = []
    for (clean_x, clean_y), (mixed_x, soft) in pairs:
        assert mixed_x.shape == clean_x.shape
        assert soft.shape == (len(clean_y), n_classes)
        # Same clips in the same order, each keeping the larger share of its blend.
        np.testing.assert_array_equal(soft.argmax(axis=1), clean_y)
        shares += list(soft.max(axis=1))
        assert not np.allclose(mixed_x, clean_x)
    assert min(shares) < 0.9
