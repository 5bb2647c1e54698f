"""`--channel-augmentation`: choices, per-clip draws, and the corrupted copies of a feature set."""

from __future__ import annotations

import numpy as np
import pytest

import kser.features
from kser.channels import augmentation as channel_augmentation
from kser.channels.augmentation import parse_channel_augmentation, with_channel_copies
from kser.channels.features import corrupted_clip
from kser.data import load_corpus
from kser.errors import KserConfigError
from kser.features.pipeline import extract_features
from kser.training import ExperimentConfig
from tests.helpers import make_nemo_directory

CHOICES = "telephone, noise:5-20, reverb:0.2-0.8"


def test_choices_parse_and_each_clip_draws_one_channel_within_its_range():
    augmentation = parse_channel_augmentation(CHOICES)
    assert augmentation.spec == "telephone,noise:5-20,reverb:0.2-0.8"
    assert parse_channel_augmentation("noise:10").choices == (("noise", 10.0, 10.0),)
    draws = [augmentation.channel_of(f"SM0_anger_{k}.flac", 42) for k in range(300)]
    assert draws == [augmentation.channel_of(f"SM0_anger_{k}.flac", 42) for k in range(300)]
    kinds = [channel.stages[0][0] for channel in draws]
    assert {kind: kinds.count(kind) > 70 for kind in ("telephone", "noise", "reverb")} == {
        "telephone": True,
        "noise": True,
        "reverb": True,
    }
    values = {kind: [c.stages[0][1] for c in draws if c.stages[0][0] == kind] for kind in kinds}
    assert 5 <= min(values["noise"]) and max(values["noise"]) <= 20
    assert 0.2 <= min(values["reverb"]) and max(values["reverb"]) <= 0.8
    assert np.std(values["noise"]) > 3  # spread over the range, not one value
    assert draws != [augmentation.channel_of(f"SM0_anger_{k}.flac", 43) for k in range(300)]


@pytest.mark.parametrize(
    "spec, problem",
    [
        ("noise:20-5", "LOW above HIGH"),
        ("reverb:0.2-9", "RT60 in seconds"),
        ("phone", "is not telephone"),
        ("noise", "is not telephone"),
        ("noise:a-b", "needs a value or a range"),
        ("", "empty"),
    ],
)
def test_bad_choices_are_refused_by_the_config_naming_them(spec, problem):
    with pytest.raises(KserConfigError, match=problem):
        ExperimentConfig(channel_augmentation=spec)


def test_channel_augmentation_and_waveform_augmentation_exclude_each_other():
    with pytest.raises(KserConfigError, match="pick one"):
        ExperimentConfig(channel_augmentation="telephone", waveform_augment="gain")


def test_copies_are_the_clips_through_their_channels_under_speakers_named_after_the_channel(
    tmp_path, monkeypatch
):
    corpus = load_corpus(str(make_nemo_directory(tmp_path / "nemo", clips_per_emotion=1)))
    extractor = kser.features.get("mel", n_mels=16)
    feature_set = extract_features(corpus.manifest, extractor, clip_seconds=0.5, progress=False)
    augmentation = parse_channel_augmentation(CHOICES)
    rows = np.arange(0, len(corpus), 2)
    labels = corpus.label_indices
    augmented, both, doubled = with_channel_copies(
        feature_set, rows, labels, extractor, augmentation, seed=3
    )
    n, m = len(feature_set), len(rows)
    assert len(augmented) == n + m and augmented.as_numpy().shape == (n + m, *feature_set.shape)
    assert np.array_equal(both, np.concatenate([rows, n + np.arange(m)]))
    assert np.array_equal(doubled[both], np.concatenate([labels[rows]] * 2))
    np.testing.assert_array_equal(augmented.as_numpy()[:n], feature_set.as_numpy())
    position = 3
    row = rows[position]
    path = corpus.manifest["path"].iloc[row]
    channel = augmentation.channel_of(path, 3)
    assert (
        augmented.speakers[n + position]
        == f"{corpus.manifest['speaker'].iloc[row]}|" + (channel.stages[0][0])
    )
    expected = extractor(corrupted_clip(path, channel, 16000, 8000, seed=3)[None])
    copy = augmented.as_numpy()[n + position]
    np.testing.assert_allclose(copy, np.asarray(expected)[0], atol=1e-4)
    assert not np.allclose(copy, feature_set.as_numpy()[row])

    def no_extraction(*args, **kwargs):
        raise AssertionError("the copies were extracted again instead of read from the cache")

    monkeypatch.setattr("kser.channels.features.features_through", no_extraction)
    again, _ = channel_augmentation.channel_copies(
        feature_set, rows, extractor, augmentation, seed=3
    )
    np.testing.assert_array_equal(again, augmented.as_numpy()[n:])
