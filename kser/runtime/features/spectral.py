"""STFT features (`kser.features.spectral`, `kser.features.contrast`) in numpy.

The mel filters come from the export's arrays (librosa's, as the TensorFlow
extractor holds them); the MFCC DCT is scipy's orthonormal DCT-II, the one
`tf.signal.dct(type=2, norm="ortho")` computes.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from kser.runtime.features.base import NumpyExtractor
from kser.runtime.features.dsp import bins_first, delta, power_to_db, stft_power


class StftFeature(NumpyExtractor):
    def power(self, waves):
        p = self.params
        return stft_power(waves, int(p["n_fft"]), int(p["win_length"]), self.hop_length)


class LinearSpectrogram(StftFeature):
    name = "stft"

    def compute(self, waves):
        return bins_first(power_to_db(self.power(waves), self.params["top_db"]))


class MelSpectrogram(StftFeature):
    name = "mel"

    def __init__(self, node):
        super().__init__(node)
        self.filters = node.array("filters").astype(np.float64)  # (n_freqs, n_mels)

    def db(self, waves):
        """`(batch, n)` -> `(batch, n_frames, n_mels)` dB."""
        return power_to_db(self.power(waves) @ self.filters, self.params["top_db"])

    def compute(self, waves):
        return bins_first(self.db(waves))


class Mfcc(NumpyExtractor):
    name = "mfcc"

    def __init__(self, node):
        super().__init__(node)
        self.mel = MelSpectrogram(node.child("mel"))

    def compute(self, waves):
        log_mel = self.mel.db(waves)
        coefficients = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=-1)
        return bins_first(coefficients[..., : int(self.params["n_mfcc"])])


class DeltaMfcc(NumpyExtractor):
    name = "delta_mfcc"

    def __init__(self, node):
        super().__init__(node)
        self.base = Mfcc(node.child("base"))

    def compute(self, waves):
        return delta(self.base.compute(waves), int(self.params["delta_width"]))


class SpectralContrast(StftFeature):
    """Peak minus valley dB per octave band; the bands `(start, stop, count)` come from the
    export (`kser.features.contrast.octave_bands`)."""

    name = "contrast"

    def __init__(self, node):
        super().__init__(node)
        self.bands = [tuple(int(v) for v in band) for band in node.array("bands")]

    def compute(self, waves):
        magnitude = np.sqrt(self.power(waves))
        peaks, valleys = [], []
        for start, stop, count in self.bands:
            ordered = np.sort(magnitude[..., start:stop], axis=-1)
            peaks.append(np.mean(ordered[..., -count:], axis=-1))
            valleys.append(np.mean(ordered[..., :count], axis=-1))
        peak = power_to_db(np.stack(peaks, axis=-1), 80.0)
        valley = power_to_db(np.stack(valleys, axis=-1), 80.0)
        return bins_first(peak - valley)
