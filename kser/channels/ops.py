"""Channel corruptions of one waveform `(n_samples,)`, float32 in, float32 out, same length.

- `telephone`: resampled to 8 kHz (soxr), band-passed to 300-3400 Hz (4th-order
  Butterworth, run forwards and backwards: no phase shift), G.711 mu-law
  companded with 8-bit codes (the continuous mu = 255 law, not the standard's
  segmented approximation), and resampled back.
- `add_noise`: pink (1/f power) Gaussian noise scaled so that the signal-to-noise
  ratio over the clip's active samples is exactly the one asked for.
- `reverberate`: convolution with a synthetic room impulse response
  (`room_impulse_response`), truncated to the input's length.

Random values come from a `numpy.random.Generator`, so a corruption is
repeatable given its seed (see `kser.channels.spec.clip_seed`).
"""

from __future__ import annotations

import math

import numpy as np
import soxr
from scipy.signal import butter, fftconvolve, sosfiltfilt

TELEPHONE_RATE = 8000
TELEPHONE_BAND_HZ = (300.0, 3400.0)
MU = 255.0
# Frames whose RMS is within this many dB of the loudest frame hold speech (the "active" samples).
ACTIVE_RANGE_DB = 40.0
ACTIVE_FRAME_SECONDS = 0.02
# Energy of the direct path over that of the reverberant tail (dB), as at a
# distance of a metre or two from the talker in an ordinary room.
DIRECT_TO_REVERBERANT_DB = 0.0
# Amplitude decay that makes energy fall by 60 dB at t = RT60: exp(-ln(1000) t / RT60).
LN_1000 = math.log(1000.0)
# The impulse response runs this many RT60s (energy then is 90 dB down).
RIR_RT60S = 1.5


def telephone(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """`waveform` as heard through a narrow-band (G.711) telephone line."""
    narrow = soxr.resample(waveform.astype(np.float64), sample_rate, TELEPHONE_RATE, quality="HQ")
    band = butter(4, TELEPHONE_BAND_HZ, btype="bandpass", fs=TELEPHONE_RATE, output="sos")
    narrow = mu_law_decode(mu_law_encode(sosfiltfilt(band, narrow)))
    wide = soxr.resample(narrow, TELEPHONE_RATE, sample_rate, quality="HQ")
    return _same_length(wide, len(waveform))


def mu_law_encode(samples: np.ndarray) -> np.ndarray:
    """8-bit codes (0..255, uint8) of `samples` (clipped to [-1, 1]) under the mu = 255 law."""
    clipped = np.clip(samples, -1.0, 1.0)
    companded = np.sign(clipped) * np.log1p(MU * np.abs(clipped)) / math.log1p(MU)
    return np.round((companded + 1.0) * 127.5).astype(np.uint8)


def mu_law_decode(codes: np.ndarray) -> np.ndarray:
    """Samples in [-1, 1] of 8-bit mu-law `codes`."""
    companded = codes.astype(np.float64) / 127.5 - 1.0
    return np.sign(companded) * np.expm1(np.abs(companded) * math.log1p(MU)) / MU


def active_mask(waveform: np.ndarray, sample_rate: int) -> np.ndarray:
    """Boolean `(n_samples,)`: samples of the 20 ms frames within 40 dB of the loudest one."""
    frame = max(1, int(round(ACTIVE_FRAME_SECONDS * sample_rate)))
    n_frames = -(-len(waveform) // frame)
    padded = np.pad(waveform.astype(np.float64), (0, n_frames * frame - len(waveform)))
    power = np.mean(padded.reshape(n_frames, frame) ** 2, axis=1)
    active = power >= power.max() * 10.0 ** (-ACTIVE_RANGE_DB / 10.0)
    return np.repeat(active, frame)[: len(waveform)]


def pink_noise(n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise whose power falls as 1/f (3 dB per octave), unit variance."""
    spectrum = rng.standard_normal(n_samples // 2 + 1) + 1j * rng.standard_normal(
        n_samples // 2 + 1
    )
    frequencies = np.arange(len(spectrum), dtype=np.float64)
    frequencies[0] = 1.0  # no DC boost: the lowest bin gets the first bin's weight
    noise = np.fft.irfft(spectrum / np.sqrt(frequencies), n=n_samples)
    return noise / max(float(np.std(noise)), np.finfo(np.float64).tiny)


def add_noise(
    waveform: np.ndarray, sample_rate: int, snr_db: float, rng: np.random.Generator
) -> np.ndarray:
    """`waveform` plus pink noise at `snr_db` over its active samples (`active_mask`).

    Signal and noise powers are both measured over the active samples, so
    silence before and after speech does not inflate the SNR. An all-zero
    waveform has no SNR and is returned unchanged.
    """
    mask = active_mask(waveform, sample_rate)
    signal_power = float(np.mean(waveform[mask].astype(np.float64) ** 2))
    noise = pink_noise(len(waveform), rng)
    noise_power = float(np.mean(noise[mask] ** 2))
    if signal_power == 0.0:
        return waveform.astype(np.float32)
    scale = math.sqrt(signal_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    return (waveform + scale * noise).astype(np.float32)


def room_impulse_response(rt60: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """A synthetic room impulse response with reverberation time `rt60` (seconds), unit energy.

    A unit direct path at t = 0, then a tail of Gaussian noise under the
    envelope `exp(-ln(1000) t / rt60)` (energy down 60 dB at `rt60`), scaled so
    that the direct-to-reverberant energy ratio is `DIRECT_TO_REVERBERANT_DB`.
    It lasts `RIR_RT60S * rt60`.
    """
    n_samples = max(2, int(round(RIR_RT60S * rt60 * sample_rate)))
    t = np.arange(1, n_samples) / sample_rate
    tail = rng.standard_normal(n_samples - 1) * np.exp(-LN_1000 * t / rt60)
    tail *= math.sqrt(10.0 ** (-DIRECT_TO_REVERBERANT_DB / 10.0) / np.sum(tail**2))
    response = np.concatenate([[1.0], tail])
    return response / math.sqrt(float(np.sum(response**2)))


def reverberate(
    waveform: np.ndarray, sample_rate: int, rt60: float, rng: np.random.Generator
) -> np.ndarray:
    """`waveform` in a synthetic room (`room_impulse_response`), its tail past the end cut."""
    response = room_impulse_response(rt60, sample_rate, rng)
    wet = fftconvolve(waveform.astype(np.float64), response)[: len(waveform)]
    return wet.astype(np.float32)


def _same_length(samples: np.ndarray, n_samples: int) -> np.ndarray:
    """`samples` cropped or zero-padded at the end to `n_samples`, float32 (resampling
    round trips may gain or lose a sample)."""
    fitted = samples[:n_samples]
    return np.pad(fitted, (0, n_samples - len(fitted))).astype(np.float32)
