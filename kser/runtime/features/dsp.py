"""numpy counterparts of `kser.features.dsp`: centred frames, the STFT power, dB, deltas.

Same layout as there: `(batch, n_frames, n_bins)` inside, `(batch, n_bins,
n_frames)` out. The STFT is computed in float64 (TensorFlow's is float32), so
values differ from the TensorFlow extractor's by float32 rounding.
"""

from __future__ import annotations

import numpy as np
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view

POWER_FLOOR = 1e-10


def centered_frames(waves: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """`(batch, n)` -> `(batch, 1 + n // hop_length, frame_length)` views, frame `t` centred
    on sample `t * hop_length`, zeros outside the clip."""
    left = frame_length // 2
    padded = np.pad(waves, [(0, 0), (left, frame_length - left)])
    return sliding_window_view(padded, frame_length, axis=-1)[:, ::hop_length]


def hann_window(n_fft: int, win_length: int) -> np.ndarray:
    """The periodic Hann window of `win_length` samples centred in `n_fft` (librosa's)."""
    window = np.zeros(n_fft)
    start = (n_fft - win_length) // 2
    window[start : start + win_length] = scipy.signal.get_window("hann", win_length)
    return window


def stft_power(waves: np.ndarray, n_fft: int, win_length: int, hop_length: int) -> np.ndarray:
    """`(batch, n)` -> `(batch, n_frames, n_fft // 2 + 1)` float64 power of the centred STFT."""
    frames = centered_frames(waves.astype(np.float64), n_fft, hop_length)
    spectrum = np.fft.rfft(frames * hann_window(n_fft, win_length), axis=-1)
    return spectrum.real**2 + spectrum.imag**2


def power_to_db(power: np.ndarray, top_db: float | None = 80.0) -> np.ndarray:
    """`10 log10(power)`, floored at `POWER_FLOOR`, then at each clip's maximum minus `top_db`."""
    db = 10.0 * np.log10(np.maximum(power, POWER_FLOOR))
    if top_db is None:
        return db
    peak = np.max(db, axis=tuple(range(1, db.ndim)), keepdims=True)
    return np.maximum(db, peak - top_db)


def delta(features: np.ndarray, width: int = 9) -> np.ndarray:
    """First-order Savitzky-Golay delta along the last axis (`kser.features.dsp.delta`)."""
    half = width // 2
    length = features.shape[-1] - 2 * half
    norm = half * (half + 1) * (2 * half + 1) / 3
    slope = sum(
        (offset / norm) * features[..., half + offset : half + offset + length]
        for offset in range(-half, half + 1)
        if offset
    )
    first = np.repeat(slope[..., :1], half, axis=-1)
    last = np.repeat(slope[..., -1:], half, axis=-1)
    return np.concatenate([first, slope, last], axis=-1)


def normalize(features: np.ndarray, axis: int, order: str = "max") -> np.ndarray:
    """Divide by the max (or sum) of magnitudes along `axis`; all-zero slices stay zero."""
    magnitude = np.abs(features)
    length = (np.max if order == "max" else np.sum)(magnitude, axis=axis, keepdims=True)
    safe = np.where(length > 0, length, 1.0)
    return np.where(length > 0, features / safe, 0.0)


def bins_first(features: np.ndarray) -> np.ndarray:
    """`(batch, n_frames, n_bins)` -> `(batch, n_bins, n_frames)`."""
    return np.swapaxes(features, 1, 2)
