"""`build(node)`: the numpy extractor a description node names (see `base`)."""

from __future__ import annotations

from kser.errors import KserBundleError
from kser.runtime.features.base import NumpyExtractor
from kser.runtime.features.constant_q import Chroma, ConstantQSpectrogram, Tonnetz
from kser.runtime.features.frame_stats import RmsEnergy, ZeroCrossingRate
from kser.runtime.features.functionals import (
    MfccFunctionals,
    StackedFeatures,
    UtteranceFunctionals,
)
from kser.runtime.features.pitch import PitchTrack, ProsodyFunctionals
from kser.runtime.features.spectral import (
    DeltaMfcc,
    LinearSpectrogram,
    MelSpectrogram,
    Mfcc,
    SpectralContrast,
)

EXTRACTORS: dict[str, type[NumpyExtractor]] = {
    extractor.name: extractor
    for extractor in (
        MelSpectrogram,
        LinearSpectrogram,
        Mfcc,
        DeltaMfcc,
        SpectralContrast,
        ZeroCrossingRate,
        RmsEnergy,
        ConstantQSpectrogram,
        Chroma,
        Tonnetz,
        PitchTrack,
        ProsodyFunctionals,
        StackedFeatures,
        UtteranceFunctionals,
        MfccFunctionals,
    )
}


def build(node) -> NumpyExtractor:
    if node.name not in EXTRACTORS:
        raise KserBundleError(
            f"{node.source}: feature {node.name!r} has no numpy implementation in this kser"
        )
    return EXTRACTORS[node.name](node)
