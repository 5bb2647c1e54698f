"""Names of every bin of a representation, for labelling plots and explanations.

    bin_names(kser.features.get("mel", n_mels=4))  # ['mel 0', 'mel 1', 'mel 2', 'mel 3']
    bin_frequencies(kser.features.get("mel"))      # centre of each band in Hz

Names are `"<feature> <index>"` except where a bin has a meaning of its own
(chroma pitch classes, tonnetz axes, contrast bands, tempogram lags); a stack
names each of its representations' bins in stacking order.
"""

from __future__ import annotations

import numpy as np

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# librosa.feature.tonnetz's order: fifths, minor thirds, major thirds (x, y each).
TONNETZ_AXES = ("fifth x", "fifth y", "minor third x", "minor third y", "major third x",
                "major third y")  # fmt: skip


def bin_names(extractor) -> list[str]:
    """One short name per output bin of `extractor` (`extractor.n_bins` of them)."""
    name = extractor.name
    if name == "stack":
        return [label for part in extractor.extractors for label in bin_names(part)]
    if name in ("functionals", "mfcc_functionals", "egemaps", "compare"):
        return extractor.value_names()
    if name == "prosody":
        from kser.features.pitch import PROSODY_VALUES

        return [value.replace("_", " ") for value in PROSODY_VALUES]
    if name in ("zcr", "rms", "waveform"):
        return [name]
    if name == "chroma" and extractor.n_bins == len(PITCH_CLASSES):
        return [f"chroma {pitch}" for pitch in PITCH_CLASSES]
    if name == "tonnetz":
        return [f"tonnetz {axis}" for axis in TONNETZ_AXES]
    if name == "contrast":
        edges = _contrast_edges(extractor)
        bands = zip(edges[:-1], edges[1:], strict=True)
        return [f"contrast {low:g}-{high:g} Hz" for low, high in bands]
    if name in ("tempogram", "delta_tempogram"):
        hop_seconds = extractor.hop_length / extractor.sample_rate
        return [f"{name} lag {lag * hop_seconds:.2f} s" for lag in range(extractor.n_bins)]
    if name == "hpss":
        half = extractor.n_bins // 2
        return [f"harmonic mel {i}" for i in range(half)] + [
            f"percussive mel {i}" for i in range(half)
        ]
    return [f"{name.replace('_', ' ')} {index}" for index in range(extractor.n_bins)]


def bin_frequencies(extractor) -> np.ndarray | None:
    """Centre frequency in Hz of each bin of a spectrogram (mel, stft, cqt), else None."""
    import librosa

    params = extractor.params
    if extractor.name == "mel":
        edges = librosa.mel_frequencies(params["n_mels"] + 2, fmin=params["fmin"],
                                        fmax=params["fmax"])  # fmt: skip
        return edges[1:-1]
    if extractor.name == "stft":
        return librosa.fft_frequencies(sr=params["sample_rate"], n_fft=params["n_fft"])
    if extractor.name == "cqt":
        return librosa.cqt_frequencies(
            params["n_bins"], fmin=params["fmin"], bins_per_octave=params["bins_per_octave"]
        )
    return None


def _contrast_edges(extractor) -> np.ndarray:
    params = extractor.params
    edges = params["fmin"] * 2.0 ** np.arange(params["n_bands"] + 1)
    return np.concatenate([[0.0], np.minimum(edges, params["sample_rate"] / 2)])
