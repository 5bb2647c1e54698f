"""Waveforms: decode with soundfile, downmix, resample with soxr, fix the length.

Every problem with a file raises `KserDataError` naming that file.
"""

from __future__ import annotations

import os

import numpy as np
import soundfile
import soxr

from kser.errors import KserDataError

SAMPLE_RATE = 16000
CLIP_SECONDS = 3.0
# Peak amplitude below which a clip is treated as silence (about -90 dBFS).
SILENCE_PEAK = 3e-5


def clip_samples(sample_rate: int = SAMPLE_RATE, clip_seconds: float = CLIP_SECONDS) -> int:
    """Number of samples in one fixed-length clip."""
    return int(round(sample_rate * clip_seconds))


def load_waveform(path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode `path` to mono float32 at `sample_rate`. Shape `(n_samples,)`.

    Raises `KserDataError` for a missing, empty, undecodable, non-finite or
    silent file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise KserDataError(f"{path}: audio file not found")
    if os.path.getsize(path) == 0:
        raise KserDataError(f"{path}: audio file is empty (0 bytes)")
    try:
        samples, file_rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise KserDataError(f"{path}: cannot decode audio ({error})") from None
    return _checked_waveform(samples, file_rate, sample_rate, path)


def decode_waveform_bytes(data: bytes, sample_rate: int = SAMPLE_RATE, name: str = "<bytes>"):
    """Like `load_waveform`, for encoded audio held in memory (Hugging Face rows)."""
    import io

    if not data:
        raise KserDataError(f"{name}: audio is empty (0 bytes)")
    try:
        samples, file_rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        raise KserDataError(f"{name}: cannot decode audio ({error})") from None
    return _checked_waveform(samples, file_rate, sample_rate, name)


def _checked_waveform(samples, file_rate, sample_rate, name):
    if samples.shape[0] == 0:
        raise KserDataError(f"{name}: audio has no samples")
    if not np.all(np.isfinite(samples)):
        raise KserDataError(f"{name}: audio contains NaN or infinite samples")
    mono = samples.mean(axis=1)
    if np.max(np.abs(mono)) < SILENCE_PEAK:
        raise KserDataError(f"{name}: audio is silent (peak below {SILENCE_PEAK:g})")
    if file_rate != sample_rate:
        mono = soxr.resample(mono, file_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def fix_length(
    waveform: np.ndarray,
    n_samples: int,
    mode: str = "center",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Crop or zero-pad `waveform` to exactly `n_samples`.

    mode="center" crops the middle (evaluation); mode="random" crops at a
    position drawn from `rng` (training). Short clips are zero-padded at the end
    in both modes, so the speech onset stays where it was.
    """
    if mode not in ("center", "random"):
        raise ValueError(f"mode must be 'center' or 'random'. Received: mode={mode!r}")
    excess = waveform.shape[0] - n_samples
    if excess <= 0:
        return np.pad(waveform, (0, -excess)).astype(np.float32, copy=False)
    if mode == "center":
        start = excess // 2
    else:
        if rng is None:
            raise ValueError("mode='random' needs an rng (np.random.Generator) for reproducibility")
        start = int(rng.integers(0, excess + 1))
    return waveform[start : start + n_samples]


def load_clip(
    path,
    sample_rate: int = SAMPLE_RATE,
    clip_seconds: float = CLIP_SECONDS,
    mode: str = "center",
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Decoded, resampled, fixed-length clip: `(clip_samples,)` float32."""
    waveform = load_waveform(path, sample_rate)
    return fix_length(waveform, clip_samples(sample_rate, clip_seconds), mode, rng)
