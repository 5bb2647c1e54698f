"""The librosa computation each extractor reproduces, one clip at a time.

This is the reference the parity tests compare against and the per-clip loop
the benchmark times (the way the notebook study computed its features). Each
function takes one waveform `(n_samples,)` and the extractor's `params` and
returns `(n_bins, n_frames)` float32.
"""

from __future__ import annotations

import os

# librosa's numba kernels are compiled for the host CPU; on some hosts (an AMD EPYC here)
# that code segfaults in librosa.zero_crossings. Generic code gives the same values.
# (Read when numba is first imported; the root conftest.py sets it for test sessions.)
os.environ.setdefault("NUMBA_CPU_NAME", "generic")

import librosa  # noqa: E402
import numpy as np  # noqa: E402


def reference_feature(name: str, waveform: np.ndarray, params: dict) -> np.ndarray:
    """librosa's value of feature `name` with `params` (an extractor's `.params`)."""
    return np.asarray(_REFERENCES[name](waveform, **params), dtype=np.float32)


def _stft(y, *, sample_rate, n_fft, win_length, hop_length):
    return librosa.stft(y, n_fft=n_fft, win_length=win_length, hop_length=hop_length)


def _mel_power(S, *, sample_rate, n_fft, n_mels, fmin, fmax, **_):
    return librosa.feature.melspectrogram(
        S=S, sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax
    )


def _grid(params):
    return {key: params[key] for key in ("sample_rate", "n_fft", "win_length", "hop_length")}


def linear_spectrogram(y, *, top_db, **grid):
    return librosa.amplitude_to_db(np.abs(_stft(y, **grid)), ref=1.0, top_db=top_db)


def mel_spectrogram(y, **params):
    power = np.abs(_stft(y, **_grid(params))) ** 2
    return librosa.power_to_db(_mel_power(power, **params), ref=1.0, top_db=params["top_db"])


def mfcc(y, *, n_mfcc, **mel_params):
    return librosa.feature.mfcc(S=mel_spectrogram(y, **mel_params), n_mfcc=n_mfcc)


def delta_mfcc(y, *, delta_width, **mfcc_params):
    return librosa.feature.delta(mfcc(y, **mfcc_params), width=delta_width)


def cqt(y, *, sample_rate, hop_length, fmin, n_bins, bins_per_octave):
    response = librosa.cqt(
        y,
        sr=sample_rate,
        hop_length=hop_length,
        fmin=fmin,
        n_bins=n_bins,
        bins_per_octave=bins_per_octave,
    )
    return librosa.amplitude_to_db(np.abs(response), ref=1.0, top_db=80.0)


def chroma(y, *, sample_rate, hop_length, fmin, n_octaves, bins_per_octave, n_chroma):
    return librosa.feature.chroma_cqt(
        y=y,
        sr=sample_rate,
        hop_length=hop_length,
        fmin=fmin,
        n_octaves=n_octaves,
        bins_per_octave=bins_per_octave,
        n_chroma=n_chroma,
        tuning=0.0,
    )


def tonnetz(y, **chroma_params):
    return librosa.feature.tonnetz(chroma=chroma(y, **chroma_params))


def harmonic_percussive(y, *, kernel_size, **mel_params):
    parts = librosa.decompose.hpss(_stft(y, **_grid(mel_params)), kernel_size=kernel_size)
    images = [
        librosa.power_to_db(
            _mel_power(np.abs(part) ** 2, **mel_params), ref=1.0, top_db=mel_params["top_db"]
        )
        for part in parts
    ]
    return np.concatenate(images, axis=0)


def zero_crossing_rate(y, *, sample_rate, hop_length, frame_length):
    return librosa.feature.zero_crossing_rate(y, frame_length=frame_length, hop_length=hop_length)


def rms(y, *, sample_rate, hop_length, frame_length):
    return librosa.feature.rms(y=y, frame_length=frame_length, hop_length=hop_length)


def spectral_contrast(y, *, n_bands, fmin, quantile, **grid):
    return librosa.feature.spectral_contrast(
        S=np.abs(_stft(y, **grid)),
        sr=grid["sample_rate"],
        n_fft=grid["n_fft"],
        n_bands=n_bands,
        fmin=fmin,
        quantile=quantile,
    )


def tempogram(y, *, tempo_window, **mel_params):
    onsets = librosa.onset.onset_strength(
        S=mel_spectrogram(y, **mel_params),
        sr=mel_params["sample_rate"],
        n_fft=mel_params["n_fft"],
        hop_length=mel_params["hop_length"],
    )
    return librosa.feature.tempogram(
        onset_envelope=onsets,
        sr=mel_params["sample_rate"],
        hop_length=mel_params["hop_length"],
        win_length=tempo_window,
    )


def delta_tempogram(y, *, delta_width, **tempogram_params):
    return librosa.feature.delta(tempogram(y, **tempogram_params), width=delta_width)


_REFERENCES = {
    "mel": mel_spectrogram,
    "stft": linear_spectrogram,
    "mfcc": mfcc,
    "cqt": cqt,
    "chroma": chroma,
    "tonnetz": tonnetz,
    "hpss": harmonic_percussive,
    "zcr": zero_crossing_rate,
    "rms": rms,
    "contrast": spectral_contrast,
    "tempogram": tempogram,
    "delta_mfcc": delta_mfcc,
    "delta_tempogram": delta_tempogram,
}
