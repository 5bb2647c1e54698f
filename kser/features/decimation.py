"""Decimation by powers of two, filtered as librosa's default resampler filters.

`librosa.cqt` halves the clip once per octave with `librosa.resample(...,
res_type="soxr_hq", scale=True)`. Decimating by an integer factor, soxr is a
linear filter followed by keeping every n-th sample, so its filter can be read
off its response to unit impulses (one per phase) and applied here in the
frequency domain: per step, an FFT, a product with the filter's response cut
at the new Nyquist frequency, and an inverse FFT of half the length.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.fft
import soxr
import tensorflow as tf

# soxr's filter taps beyond this fraction of the largest one are its own float
# rounding noise, not filter: they are dropped, bounding the filter's support.
TAP_FLOOR = 1e-7


@functools.cache
def soxr_lowpass(factor: int) -> np.ndarray:
    """Taps `h[-r..r]` (centred, length 2r + 1) with which
    `soxr.resample(x, factor, 1, quality="HQ") * sqrt(factor)` equals
    `(h * x)[::factor]` for zero-padded `x`."""
    n_taps = 2048 * factor
    middle = n_taps // 2
    taps = np.zeros(n_taps)
    for phase in range(factor):
        impulse = np.zeros(n_taps)
        impulse[middle + phase] = 1.0
        response = soxr.resample(impulse, factor, 1, quality="HQ") * math.sqrt(factor)
        # output sample m is sum_k h[k] x[factor * m - k]: here h[factor * m - middle - phase].
        lags = factor * np.arange(len(response)) - phase
        taps[lags] = response
    radius = int(
        np.max(np.abs(np.flatnonzero(np.abs(taps) > TAP_FLOOR * np.abs(taps).max()) - middle))
    )
    return taps[middle - radius : middle + radius + 1]


class Decimator:
    """Copies of `(batch, n)` clips decimated by `2**level` for each requested level.

    Like librosa, each step filters and decimates the previous step's output,
    trimmed to `ceil(length / factor)` samples (what soxr returns), so that
    filter ringing outside the clip is dropped between steps as librosa drops it.

    Args:
        levels: the decimation levels wanted (0 is the clip itself).
        first_factor_level: the first step decimates by `2**first_factor_level`
            at once (librosa's early downsampling), later steps by 2.
    """

    def __init__(self, levels, first_factor_level: int = 0):
        self.levels = sorted(set(levels))
        max_level = self.levels[-1]
        first = max(1, first_factor_level)
        # (level before, level after) of each step.
        self.steps = [(0, first)] + [(level, level + 1) for level in range(first, max_level)]
        self.steps = self.steps if max_level else []
        # Zeros on both sides keep each step's circular FFT convolution linear.
        self.block = 2**max_level
        reach = max(
            (2**low * (len(soxr_lowpass(2 ** (high - low))) // 2) for low, high in self.steps),
            default=0,
        )
        self.guard = self.block * math.ceil(reach / self.block)

    def __call__(self, waves) -> dict[int, tf.Tensor]:
        """`(batch, n)` (static n) -> {level: `(batch, ceil(n / 2**level))`}."""
        n_samples = waves.shape[1]
        length = self.block
        while length < n_samples + 2 * self.guard or length % self.block:
            length = scipy.fft.next_fast_len(length + 1, real=True)
        signal = tf.pad(waves, [[0, 0], [self.guard, length - n_samples - self.guard]])
        signals = {0: signal}
        for low, high in self.steps:
            factor = 2 ** (high - low)
            in_length, out_length = length // 2**low, length // 2**high
            response = tf.constant(step_response(factor, in_length, out_length // 2 + 1))
            spectrum = tf.signal.rfft(signals[low])[:, : out_length // 2 + 1]
            decimated = tf.signal.irfft(spectrum * response, [out_length]) / factor
            start = self.guard // 2**high
            inside = np.zeros(out_length, np.float32)
            inside[start : start - (-n_samples // 2**high)] = 1.0
            signals[high] = decimated * inside
        return {
            level: signals[level][
                :, self.guard // 2**level : self.guard // 2**level - (-n_samples // 2**level)
            ]
            for level in self.levels
        }


def step_response(factor: int, length: int, n_bins: int) -> np.ndarray:
    """The frequency response of soxr's `factor`:1 filter on the first `n_bins`
    bins of a `length`-point FFT (complex64; real up to rounding, the filter is
    symmetric)."""
    taps = soxr_lowpass(factor)
    radius = len(taps) // 2
    circle = np.zeros(length)
    np.add.at(circle, np.arange(-radius, radius + 1) % length, taps)
    return np.fft.rfft(circle)[:n_bins].real.astype(np.complex64)
