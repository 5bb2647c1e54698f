"""How much a bundle trusts a speaker's own clips, fitted on validation speakers.

Two numbers say how per-speaker processing grows with the clips of a voice
known at prediction time: the prior weight k of the speaker statistics
(`kser.speakers.statistics.SpeakerPrior.clips`) and the growth c of speaker
adaptation's strength (`SpeakerAdaptation.growth_clips`); a voice-matched
prior adds a third, its temperature (`VoiceStatistics.temperature`; inf: the
population's statistics). All are chosen on
the validation speakers' clips by the mean UAR over the group sizes in
`GROUP_SIZES` (each speaker's clips in random groups of that many), so that
the bundle is good for one clip and for hundreds alike.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from kser.evaluation.metrics import confusion_matrix, unweighted_average_recall
from kser.speakers.groups import speaker_groups

# Clips of one speaker known together; None: all of them.
GROUP_SIZES = (1, 2, 5, 10, 20, None)
PRIOR_CLIPS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)
GROWTH_CLIPS = (0.0, 2.0, 5.0, 10.0, 20.0, 50.0)
VOICE_TEMPERATURES = (0.02, 0.05, 0.1, 0.2, float("inf"))


@dataclasses.dataclass
class SpeakerSettingsFit:
    """The chosen `prior_clips`, `growth_clips` and `voice_temperature` (None where the
    bundle has no such setting) and every candidate's validation UAR per group size
    (`scores`)."""

    prior_clips: float | None
    growth_clips: float | None
    scores: list[dict]
    voice_temperature: float | None = None


def fit_speaker_settings(bundle, features, speakers, labels, seed: int = 0):
    """`(bundle with the best settings, SpeakerSettingsFit)` on validation clips.

    `features`: their raw features (a dict for a multi-input bundle),
    `speakers`: one id per clip, `labels`: class indices. A bundle with
    neither a speaker prior nor speaker adaptation is returned unchanged.
    """
    labels = np.asarray(labels)
    priors = PRIOR_CLIPS if has_speaker_prior(bundle) else (None,)
    temperatures = VOICE_TEMPERATURES if has_voice_prior(bundle) else (None,)
    adaptation = bundle.speaker_adaptation
    growths = GROWTH_CLIPS if adaptation is not None else (None,)
    if priors == (None,) and growths == (None,):
        return bundle, SpeakerSettingsFit(None, None, [])
    scores = []
    for prior_clips, temperature in itertools.product(priors, temperatures):
        candidate = bundle if prior_clips is None else with_prior(bundle, prior_clips, temperature)
        for size in GROUP_SIZES:
            groups = speaker_groups(speakers, size, seed)
            probabilities, graph = candidate.unadapted_predictions(features, groups)
            for growth in growths:
                if growth is not None:
                    grown = dataclasses.replace(adaptation, growth_clips=growth)
                    probabilities_at = grown.apply(probabilities, graph, groups)
                else:
                    probabilities_at = probabilities
                scores.append(
                    {
                        "prior_clips": prior_clips,
                        "voice_temperature": _json_number(temperature),
                        "growth_clips": growth,
                        "clips_per_speaker": size,
                        "uar": _uar(labels, probabilities_at, len(bundle.labels)),
                    }
                )
    best_prior, best_temperature, best_growth = max(
        itertools.product(priors, temperatures, growths),
        key=lambda settings: _mean_uar(scores, *settings),
    )
    if best_prior is not None:
        bundle = with_prior(bundle, best_prior, best_temperature)
    if best_growth is not None:
        bundle = bundle.with_speaker_adaptation(
            dataclasses.replace(adaptation, growth_clips=best_growth)
        )
    fit = SpeakerSettingsFit(best_prior, best_growth, scores, _json_number(best_temperature))
    return bundle, fit


def with_prior(bundle, prior_clips: float, voice_temperature: float | None):
    """`bundle` with its speaker prior's weight and, for a voice-matched prior, temperature."""
    if voice_temperature is None:
        return bundle.with_prior_clips(prior_clips)

    def changed(normalizer):
        if normalizer.prior is None:
            return normalizer
        return normalizer.with_prior_clips(prior_clips, voice_temperature)

    normalizers = {name: changed(value) for name, value in bundle.normalizers.items()}
    return dataclasses.replace(bundle, normalizers=normalizers)


def has_voice_prior(bundle) -> bool:
    return any(
        normalizer.prior is not None and normalizer.prior.voices is not None
        for normalizer in bundle.normalizers.values()
    )


def has_speaker_prior(bundle) -> bool:
    return any(normalizer.prior is not None for normalizer in bundle.normalizers.values())


def _json_number(value):
    # JSON has no infinity: the population's weighting is written as "inf".
    return "inf" if value is not None and np.isinf(value) else value


def _mean_uar(scores, prior_clips, voice_temperature, growth_clips) -> float:
    temperature = _json_number(voice_temperature)
    return float(
        np.mean(
            [
                score["uar"]
                for score in scores
                if score["prior_clips"] == prior_clips
                and score["voice_temperature"] == temperature
                and score["growth_clips"] == growth_clips
            ]
        )
    )


def _uar(labels, probabilities, n_classes: int) -> float:
    predicted = np.asarray(probabilities).argmax(axis=1)
    return unweighted_average_recall(confusion_matrix(labels, predicted, n_classes))
