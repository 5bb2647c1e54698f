"""Audio from spectrogram features (Griffin-Lim), to listen to feature-space attacks.

A feature-space attack changes a spectrogram, not audio; the study turned its
adversarial spectrograms back into sound with Griffin-Lim. That
reconstruction is itself lossy (the phase is estimated), so every
reconstruction comes with its own error: the features of the reconstructed
audio against the features it was made from, in dB and in the model's
normalized units, and what the model predicts from the reconstructed audio.
An attack "survives" Griffin-Lim only where that prediction differs from
the clean clip's reconstruction too.

Inverts kser's `mel` (dB re power, Slaney mel) and `stft` (dB re amplitude)
features with librosa, on the same frame grid (centred, zero-padded frames,
Hann window of `win_length` inside `n_fft`).
"""

from __future__ import annotations

import librosa
import numpy as np

from kser.errors import KserBundleError

INVERTIBLE_FEATURES = ("mel", "stft")
GRIFFIN_LIM_ITERATIONS = 32


def check_invertible(extractor) -> None:
    """Raise `KserBundleError` unless Griffin-Lim can invert `extractor`'s features."""
    if extractor.name not in INVERTIBLE_FEATURES:
        raise KserBundleError(
            f"Griffin-Lim reconstructs audio from {' or '.join(INVERTIBLE_FEATURES)} "
            f"spectrograms only. Received: feature {extractor.name!r}"
        )


def spectrogram_to_audio(extractor, features_db: np.ndarray, n_samples: int, seed: int = 0):
    """Waveform `(n_samples,)` float32 whose `extractor` features approximate `features_db`.

    `features_db`: one clip's `(n_bins, n_frames)` features in the extractor's dB.
    """
    check_invertible(extractor)
    params = extractor.params
    grid = {
        "n_fft": params["n_fft"],
        "hop_length": params["hop_length"],
        "win_length": params["win_length"],
        "window": "hann",
        "center": True,
        "pad_mode": "constant",
        "n_iter": GRIFFIN_LIM_ITERATIONS,
        "length": n_samples,
        "random_state": seed,
    }
    features_db = np.asarray(features_db, dtype=np.float64)
    if extractor.name == "mel":
        magnitude = librosa.feature.inverse.mel_to_stft(
            10.0 ** (features_db / 10.0),
            sr=params["sample_rate"],
            n_fft=params["n_fft"],
            fmin=params["fmin"],
            fmax=params["fmax"],
        )
    else:
        magnitude = 10.0 ** (features_db / 20.0)
    audio = librosa.griffinlim(magnitude, init="random", **grid)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)
