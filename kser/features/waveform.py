"""The raw waveform as a one-bin "feature", for models that learn from samples (Conv1DNet).

Going through the same extractor interface lets waveform models reuse the
whole pipeline (cache, normalization, bundles, `kser predict`) unchanged.
"""

from __future__ import annotations

from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError
from kser.features.base import FeatureExtractor


class Waveform(FeatureExtractor):
    """Identity: `(batch, n_samples)` -> `(batch, 1, n_samples)`, one "frame" per sample.

    Not one of the 13 representations (`kser.features.names()` leaves it out),
    but `kser.features.get("waveform")` builds it. A 3 s clip at 16 kHz is
    48,000 values, 160 times a mel frame's worth: the cache of all of nEMO
    takes about 650 MB.

    Args:
        sample_rate: of the waveforms, in Hz.
        hop_length: must be 1 (a sample per step); a parameter only so that
            `get(name, **params)` rebuilds the extractor.

    Output: `(batch, 1, n_samples)` float32, the samples unchanged.
    """

    name = "waveform"

    def __init__(self, *, sample_rate=SAMPLE_RATE, hop_length=1):
        if hop_length != 1:
            raise KserFeatureError(
                f"waveform keeps every sample, so hop_length must be 1. "
                f"Received: hop_length={hop_length!r}"
            )
        super().__init__(1, sample_rate=sample_rate, hop_length=1)

    def n_frames(self, n_samples: int) -> int:
        return int(n_samples)

    def compute(self, waves):
        return waves[:, None, :]
