"""Speaker statistics shrunk towards the population's by the clips seen, and training subsets."""

from __future__ import annotations

import numpy as np
import pytest

from kser.errors import KserFeatureError
from kser.features.normalization import Normalizer
from kser.speakers.statistics import SpeakerPrior, SubsetStatistics, log_uniform_size


def clips(n, mean, std, seed, n_bins=3, n_frames=5):
    rng = np.random.default_rng(seed)
    return rng.normal(mean, std, (n, n_bins, n_frames)).astype(np.float32)


@pytest.fixture
def prior():
    population = np.concatenate([clips(200, 0.0, 1.0, 0), clips(200, 4.0, 3.0, 1)])
    return SpeakerPrior.fit(population, clips=5.0)


def test_one_clip_gets_the_population_statistics_exactly(prior):
    mean, std = prior.statistics(clips(1, 10.0, 0.1, 2))
    np.testing.assert_allclose(mean, prior.mean)
    np.testing.assert_allclose(std, prior.std)


def test_many_clips_reach_the_speakers_own_statistics(prior):
    speaker = clips(5000, 10.0, 0.5, 3)
    mean, std = prior.statistics(speaker)
    np.testing.assert_allclose(mean, speaker.mean(axis=(0, 2)), atol=0.02)
    np.testing.assert_allclose(std, speaker.std(axis=(0, 2)), atol=0.02)


def test_a_few_clips_lie_in_between_and_move_towards_the_speaker_as_clips_grow(prior):
    speaker = clips(40, 10.0, 0.5, 4)
    distances = []
    for n in (2, 5, 10, 40):
        mean, _ = prior.statistics(speaker[:n])
        own = speaker[:n].mean(axis=(0, 2))
        assert np.all((mean - prior.mean) * (own - mean) > 0)  # strictly between the two
        distances.append(np.abs(mean - own).max())
    assert distances == sorted(distances, reverse=True)
    # The weight is (n - 1) / (n - 1 + k): 5 clips with k = 5 are 4/9 of the way.
    mean, _ = prior.statistics(speaker[:5])
    expected = 4 / 9 * speaker[:5].mean(axis=(0, 2)) + 5 / 9 * prior.mean
    np.testing.assert_allclose(mean, expected, rtol=1e-6)


def test_the_normalizer_z_scores_one_clip_with_population_statistics(prior):
    train = np.concatenate([clips(30, 0.0, 1.0, 5), clips(30, 4.0, 3.0, 6)])
    speakers = np.repeat(["A", "B"], 30)
    normalizer = Normalizer("speaker").fit(train, speakers, prior_clips=5.0)
    one = clips(1, 2.0, 1.0, 7)
    expected = (one - normalizer.prior.mean[:, None]) / normalizer.prior.std[:, None]
    np.testing.assert_allclose(normalizer.transform(one, ["new"]), expected, rtol=1e-5)
    # Without a prior, one clip minus its own statistics leaves (almost) nothing of it.
    plain = Normalizer("speaker").fit(train, speakers)
    assert np.abs(plain.transform(one, ["new"]).mean(axis=2)).max() < 1e-5


def test_a_prior_survives_the_normalizer_config_round_trip(prior):
    train = clips(20, 1.0, 2.0, 8)
    normalizer = Normalizer("speaker+global").fit(train, ["A"] * 20, prior_clips=3.0)
    restored = Normalizer.from_config(normalizer.get_config())
    features = clips(4, 0.0, 1.0, 9)
    np.testing.assert_array_equal(
        restored.transform(features, ["x"] * 4), normalizer.transform(features, ["x"] * 4)
    )
    assert restored.prior.clips == 3.0
    assert normalizer.with_prior_clips(50.0).prior.clips == 50.0
    with pytest.raises(KserFeatureError, match="no speaker statistics"):
        Normalizer("global").fit(train, prior_clips=3.0)


def test_bad_priors_are_refused():
    with pytest.raises(KserFeatureError, match="positive"):
        SpeakerPrior(np.zeros(3), np.ones(3), 0)
    with pytest.raises(KserFeatureError, match="one mean and one std per bin"):
        SpeakerPrior(np.zeros(3), np.ones(2), 1.0)


def test_subset_statistics_hold_the_clip_itself_and_vary_in_size(prior):
    features = np.concatenate([clips(60, 0.0, 1.0, 10), clips(60, 8.0, 1.0, 11)])
    # Make every clip recognisable by its first bin: clip i has value i in every frame.
    features[:, 0, :] = np.arange(120)[:, None]
    speakers = np.repeat(["A", "B"], 60)
    subsets = SubsetStatistics(features, speakers, SpeakerPrior(prior.mean, prior.std, 1e-9))
    draws = [subsets.sample(np.random.default_rng(seed)) for seed in range(20)]
    first_bin = np.stack([mean[:, 0] for mean, _ in draws])
    # A subset of one clip gets the prior exactly; they happen, and so do larger ones.
    alone = np.isclose(first_bin, prior.mean[0])
    assert 0.02 < alone.mean() < 0.5
    # With nearly no prior, a larger subset's first-bin mean is the mean clip index of
    # the subset, which stays within the clip's own speaker.
    assert np.all(first_bin[:, :60][~alone[:, :60]] <= 59)
    assert np.all(first_bin[:, 60:][~alone[:, 60:]] >= 60)
    again = SubsetStatistics(features, speakers, subsets.prior).sample(np.random.default_rng(3))
    np.testing.assert_array_equal(again[0], draws[3][0])  # seeded


def test_log_uniform_sizes_cover_one_to_all():
    rng = np.random.default_rng(0)
    sizes = np.array([log_uniform_size(100, rng) for _ in range(4000)])
    assert sizes.min() == 1 and sizes.max() == 100
    # Log-uniform: as many in [1, 10) as in [10, 100].
    assert abs((sizes < 10).mean() - 0.5) < 0.05
