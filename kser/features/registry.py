"""One registry of the 13 representations: `get(name, **params)` and `names()`.

`get` also builds model inputs that are not among the study's representations:
"waveform" (the raw samples), "stack" (representations stacked bin-wise),
"functionals" (per-bin statistics of a representation over the clip),
"mfcc_functionals" (those of the MFCCs alone), "pitch"
(a YIN pitch and aperiodicity track), "prosody" (statistics of that track) and
the openSMILE functionals "egemaps" and "compare" (`kser.features.opensmile_sets`).
"""

from __future__ import annotations

from kser.errors import KserFeatureError
from kser.features.base import FeatureExtractor
from kser.features.constant_q import Chroma, ConstantQSpectrogram, Tonnetz
from kser.features.contrast import SpectralContrast
from kser.features.frame_stats import RmsEnergy, ZeroCrossingRate
from kser.features.functionals import MfccFunctionals, UtteranceFunctionals
from kser.features.hpss import HarmonicPercussive
from kser.features.opensmile_sets import Compare, Egemaps
from kser.features.pitch import PitchTrack, ProsodyFunctionals
from kser.features.rhythm import DeltaTempogram, Tempogram
from kser.features.spectral import DeltaMfcc, LinearSpectrogram, MelSpectrogram, Mfcc
from kser.features.stacked import StackedFeatures
from kser.features.waveform import Waveform

# The study's order; `names()` returns it.
_EXTRACTORS: dict[str, type[FeatureExtractor]] = {
    extractor.name: extractor
    for extractor in (
        MelSpectrogram,
        LinearSpectrogram,
        Mfcc,
        ConstantQSpectrogram,
        Chroma,
        Tonnetz,
        HarmonicPercussive,
        ZeroCrossingRate,
        RmsEnergy,
        SpectralContrast,
        Tempogram,
        DeltaMfcc,
        DeltaTempogram,
    )
}
# Built by `get` but left out of `names()`, which lists the representations only.
_INPUTS: dict[str, type[FeatureExtractor]] = {
    extractor.name: extractor
    for extractor in (
        Waveform,
        StackedFeatures,
        UtteranceFunctionals,
        MfccFunctionals,
        PitchTrack,
        ProsodyFunctionals,
        Egemaps,
        Compare,
    )
}


def names() -> tuple[str, ...]:
    """The 13 feature names, in a fixed order."""
    return tuple(_EXTRACTORS)


def get(name: str, **params) -> FeatureExtractor:
    """The extractor called `name`, built with `params` (its defaults for the rest).

    `get(extractor.name, **extractor.params)` rebuilds an equal extractor.
    """
    extractors = {**_EXTRACTORS, **_INPUTS}
    if name not in extractors:
        raise KserFeatureError(
            f"unknown feature; expected one of {tuple(extractors)}. Received: name={name!r}"
        )
    try:
        return extractors[name](**params)
    except TypeError as error:
        # An unknown keyword: name it instead of showing a constructor traceback.
        raise KserFeatureError(f"{name}: bad parameters ({error}). Received: {params!r}") from None
