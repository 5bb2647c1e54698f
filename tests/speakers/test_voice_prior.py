"""A voice-matched speaker prior: one clip is shrunk towards similar training voices."""

from __future__ import annotations

import numpy as np
import pytest

from kser.errors import KserFeatureError
from kser.features.normalization import Normalizer
from kser.speakers.statistics import SpeakerPrior, SubsetStatistics, VoiceStatistics
from kser.training.speaker_settings import (
    GROUP_SIZES,
    GROWTH_CLIPS,
    PRIOR_CLIPS,
    VOICE_TEMPERATURES,
    fit_speaker_settings,
)
from tests.speakers.test_statistics import clips
from tests.training.helpers import make_bundle


@pytest.fixture
def training():
    """Three voices: two low ones (means 0 and 1) and a high one (mean 8)."""
    features = np.concatenate(
        [clips(40, 0.0, 1.0, 0), clips(30, 1.0, 1.0, 1), clips(50, 8.0, 2.0, 2)]
    )
    return features, np.repeat(["low", "lower", "high"], [40, 30, 50])


def _mixture(features, speakers, weights):
    """Moments of the mixture of each speaker's clips with `weights` per speaker."""
    means = {s: features[speakers == s].mean(axis=(0, 2)) for s in weights}
    squares = {s: (features[speakers == s] ** 2).mean(axis=(0, 2)) for s in weights}
    mean = sum(w * means[s] for s, w in weights.items())
    return mean, sum(w * squares[s] for s, w in weights.items()) - mean**2


def test_one_clip_gets_the_similarity_weighted_mixture_of_training_voices(training):
    features, speakers = training
    prior = SpeakerPrior.fit(features, 5.0, speakers, voice_temperature=0.5)
    one = clips(1, 7.5, 0.5, 3)
    mean, std = prior.statistics(one)
    # The weights are clips_s * exp(-mean squared z-distance / (2 T)), normalized.
    voices = prior.voices
    x = one.mean(axis=2)[0]
    raw = {
        speaker: np.sum(speakers == speaker)
        * np.exp(
            -np.mean(((x - features[speakers == speaker].mean(axis=(0, 2))) / prior.std) ** 2) / 1.0
        )
        for speaker in voices.speakers
    }
    total = sum(raw.values())
    expected_mean, expected_variance = _mixture(
        features, speakers, {s: w / total for s, w in raw.items()}
    )
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-5)
    np.testing.assert_allclose(std, np.sqrt(expected_variance), rtol=1e-4)
    # A high clip is given the high voice's statistics, not the population's.
    assert np.all(np.abs(mean - 8.0) < 1.0)
    assert np.all(np.abs(prior.mean - 8.0) > 3.0)


def test_an_infinite_temperature_is_the_population_prior(training):
    features, speakers = training
    voiced = SpeakerPrior.fit(features, 5.0, speakers, voice_temperature=float("inf"))
    plain = SpeakerPrior.fit(features, 5.0)
    for n in (1, 4):
        group = clips(n, 7.5, 0.5, 4)
        for got, expected in zip(voiced.statistics(group), plain.statistics(group), strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_many_clips_still_reach_the_speakers_own_statistics(training):
    features, speakers = training
    prior = SpeakerPrior.fit(features, 5.0, speakers, voice_temperature=0.5)
    speaker = clips(5000, 3.0, 0.5, 5)
    mean, std = prior.statistics(speaker)
    np.testing.assert_allclose(mean, speaker.mean(axis=(0, 2)), atol=0.02)
    np.testing.assert_allclose(std, speaker.std(axis=(0, 2)), atol=0.02)


def test_training_subsets_take_their_prior_from_the_other_speakers(training):
    features, speakers = training
    prior = SpeakerPrior.fit(features, 1e9, speakers, voice_temperature=0.5)  # k huge: prior only
    mean, _ = SubsetStatistics(features, speakers, prior).sample(np.random.default_rng(0))
    high = speakers == "high"
    # Left out, the high voice has only the low ones to be matched with.
    assert np.all(mean[high] < 2.0)
    # The low voices find each other, not the high one.
    assert np.all(mean[~high] < 2.0)
    others = _mixture(features, speakers, {"low": 40 / 70, "lower": 30 / 70})[0]
    assert np.all(np.abs(mean[high] - others) < 0.6)


def test_subset_draws_are_deterministic(training):
    features, speakers = training
    prior = SpeakerPrior.fit(features, 5.0, speakers, voice_temperature=0.5)
    subsets = SubsetStatistics(features, speakers, prior)
    first = subsets.sample(np.random.default_rng(3))
    second = subsets.sample(np.random.default_rng(3))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_voice_prior_survives_the_normalizer_round_trip_and_old_ones_load(training, tmp_path):
    features, speakers = training
    normalizer = Normalizer("speaker+global").fit(
        features, speakers, prior_clips=5.0, voice_temperature=float("inf")
    )
    loaded = Normalizer.load(normalizer.save(tmp_path / "normalizer.json"))
    assert loaded.prior.voices.speakers == ("high", "low", "lower")
    assert np.isinf(loaded.prior.voices.temperature)
    one = clips(1, 7.5, 0.5, 6)
    np.testing.assert_array_equal(loaded.transform(one, ["x"]), normalizer.transform(one, ["x"]))
    changed = loaded.with_prior_clips(2.0, voice_temperature=0.1)
    assert (changed.prior.clips, changed.prior.voices.temperature) == (2.0, 0.1)
    # A prior saved before voice matching has no "voices" and stays a population prior.
    old = normalizer.get_config()
    del old["prior"]["voices"]
    assert Normalizer.from_config(old).prior.voices is None


def test_bad_voice_statistics_are_refused():
    with pytest.raises(KserFeatureError, match="temperature"):
        VoiceStatistics(("a",), np.zeros((1, 2)), np.ones((1, 2)), [3], 0.0)
    with pytest.raises(KserFeatureError, match="per speaker"):
        VoiceStatistics(("a", "b"), np.zeros((1, 2)), np.ones((1, 2)), [3], 1.0)
    with pytest.raises(KserFeatureError, match="speaker id"):
        SpeakerPrior.fit(clips(4, 0.0, 1.0, 0), 5.0, voice_temperature=1.0)


def test_validation_chooses_the_voice_temperature_too():
    bundle = make_bundle()
    rng = np.random.default_rng(0)
    n_frames = bundle.model.inputs[0].shape[-1]
    train = (rng.normal(size=(60, 16, n_frames)) * 10 - 40).astype(np.float32)
    bundle.normalizer.prior = SpeakerPrior.fit(train, 5.0, np.repeat(["A", "B", "C"], 20), 0.05)
    features = (rng.normal(size=(40, 16, n_frames)) * 10 - 40).astype(np.float32)
    speakers = np.repeat(["S0", "S1"], 20)
    labels = rng.integers(0, 6, len(speakers))
    fitted, fit = fit_speaker_settings(bundle, features, speakers, labels, seed=0)
    assert len(fit.scores) == len(PRIOR_CLIPS) * len(VOICE_TEMPERATURES) * len(GROUP_SIZES)
    assert len(GROWTH_CLIPS) and fit.growth_clips is None  # make_bundle does not adapt
    means = {}
    for score in fit.scores:
        key = (score["prior_clips"], score["voice_temperature"])
        means.setdefault(key, []).append(score["uar"])
    assert (fit.prior_clips, fit.voice_temperature) == max(means, key=lambda k: np.mean(means[k]))
    chosen = fitted.normalizer.prior.voices.temperature
    assert chosen == (float("inf") if fit.voice_temperature == "inf" else fit.voice_temperature)
