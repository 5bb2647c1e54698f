"""Speaker prior weight and adaptation growth, fitted on validation clips; subset training."""

from __future__ import annotations

import dataclasses

import numpy as np

from kser.speakers.adaptation import SpeakerAdaptation
from kser.speakers.statistics import SpeakerPrior
from kser.training.augmented_batches import speaker_subset_batches
from kser.training.speaker_settings import (
    GROUP_SIZES,
    GROWTH_CLIPS,
    PRIOR_CLIPS,
    fit_speaker_settings,
)
from tests.training.helpers import make_bundle


def _validation_clips(bundle, n_speakers=2, per_speaker=24, seed=0):
    rng = np.random.default_rng(seed)
    n_frames = bundle.model.inputs[0].shape[-1]
    features = rng.normal(size=(n_speakers * per_speaker, 16, n_frames)) * 10 - 40
    speakers = np.repeat([f"S{i}" for i in range(n_speakers)], per_speaker)
    labels = rng.integers(0, 6, len(speakers))
    return features.astype(np.float32), speakers, labels


def test_the_settings_with_the_best_mean_uar_over_group_sizes_are_chosen():
    bundle = make_bundle()
    bundle.normalizer.prior = SpeakerPrior(np.full(16, -40.0), np.full(16, 10.0), 5.0)
    bundle = bundle.with_speaker_adaptation(SpeakerAdaptation(graph="embedding"))
    features, speakers, labels = _validation_clips(bundle)
    fitted, fit = fit_speaker_settings(bundle, features, speakers, labels, seed=0)
    assert len(fit.scores) == len(PRIOR_CLIPS) * len(GROWTH_CLIPS) * len(GROUP_SIZES)
    means = {}
    for score in fit.scores:
        means.setdefault((score["prior_clips"], score["growth_clips"]), []).append(score["uar"])
    best = max(means, key=lambda pair: np.mean(means[pair]))
    assert (fit.prior_clips, fit.growth_clips) == best
    assert fitted.normalizer.prior.clips == fit.prior_clips
    assert fitted.speaker_adaptation.growth_clips == fit.growth_clips
    # Each score is that of the bundle with those settings, scored in groups of that size.
    from kser.evaluation.metrics import confusion_matrix, unweighted_average_recall
    from kser.speakers.groups import speaker_groups

    score = fit.scores[7]
    candidate = bundle.with_prior_clips(score["prior_clips"]).with_speaker_adaptation(
        dataclasses.replace(bundle.speaker_adaptation, growth_clips=score["growth_clips"])
    )
    groups = speaker_groups(speakers, score["clips_per_speaker"], 0)
    predicted = candidate.predict_features(features, groups).argmax(axis=1)
    assert score["uar"] == unweighted_average_recall(confusion_matrix(labels, predicted, 6))


def test_a_bundle_without_prior_or_adaptation_is_left_as_it_is():
    bundle = make_bundle(normalization="global").with_speaker_adaptation(None)
    features, speakers, labels = _validation_clips(bundle)
    fitted, fit = fit_speaker_settings(bundle, features, speakers, labels)
    assert fitted is bundle and fit.scores == []


class _Features:
    """The parts of a `FeatureSet` that subset batches read."""

    def __init__(self, values, speakers):
        self._values, self.speakers = values, speakers

    def as_numpy(self):
        return self._values


def test_subset_batches_are_seeded_differ_by_epoch_and_keep_every_clip_once():
    rng = np.random.default_rng(0)
    values = (rng.normal(size=(40, 3, 1)) + np.arange(40)[:, None, None]).astype(np.float32)
    speakers = np.repeat(["A", "B"], 20)
    labels = np.arange(40) % 6
    from kser.features.normalization import Normalizer

    normalizer = Normalizer("speaker+global").fit(values, speakers, prior_clips=2.0)
    rows = np.arange(40)

    def epochs(seed):
        batches = speaker_subset_batches(
            _Features(values, speakers), rows, labels, normalizer, batch_size=8, seed=seed
        )
        assert batches.cardinality().numpy() == 5
        return [[(x.numpy(), y.numpy()) for x, y in batches] for _ in range(2)]

    first, again = epochs(1), epochs(1)
    for epoch, repeated in zip(first, again, strict=True):
        for (x, y), (x2, y2) in zip(epoch, repeated, strict=True):
            np.testing.assert_array_equal(x, x2)
            np.testing.assert_array_equal(y, y2)
    labels_per_epoch = [np.sort(np.concatenate([y for _, y in epoch])) for epoch in first]
    np.testing.assert_array_equal(labels_per_epoch[0], np.sort(labels))
    # A new draw (and order) every epoch.
    assert not np.array_equal(first[0][0][0], first[1][0][0])
