"""Spectral contrast: peak-to-valley level difference in octave bands.

Parity with librosa 0.11 (tests/features/test_parity.py): the same bands,
quantiles and dB conversion as `librosa.feature.spectral_contrast`, with the
STFT in float64 as librosa's; the bound, 0.001 dB, is rounding.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError
from kser.features.base import (
    HOP_LENGTH,
    N_FFT,
    WIN_LENGTH,
    check_positive_float,
    check_positive_int,
)
from kser.features.dsp import bins_first, power_to_db
from kser.features.spectral import TOP_DB, StftFeature


class SpectralContrast(StftFeature):
    """Spectral contrast of the magnitude STFT, as `librosa.feature.spectral_contrast`.

    Band 0 spans 0 to `fmin` Hz, band k spans `fmin * 2**(k-1)` to `fmin * 2**k`,
    the last one runs to Nyquist. Per band and frame: the mean of the top and of
    the bottom `quantile` of its bins (at least one each), both in dB re 1.0
    (power_to_db with top_db=80 over the clip, librosa's defaults), subtracted.

    Args:
        sample_rate, n_fft, win_length, hop_length: the frame grid.
        n_bands: octave bands above `fmin` (6; `n_bands + 1` outputs).
        fmin: upper edge of the lowest band in Hz (200).
        quantile: fraction of a band's bins that makes its peak and valley (0.02).

    Output: `(batch, n_bands + 1, n_frames)` dB; 7 bins.
    """

    name = "contrast"

    def __init__(
        self,
        *,
        sample_rate=SAMPLE_RATE,
        n_fft=N_FFT,
        win_length=WIN_LENGTH,
        hop_length=HOP_LENGTH,
        n_bands=6,
        fmin=200.0,
        quantile=0.02,
    ):
        check_positive_int("n_bands", n_bands)
        fmin = check_positive_float("fmin", fmin)
        if not 0 < quantile < 1:
            raise KserFeatureError(f"quantile must be in (0, 1). Received: quantile={quantile!r}")
        super().__init__(
            n_bands + 1,
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            n_bands=n_bands,
            fmin=fmin,
            quantile=float(quantile),
        )
        self.bands = octave_bands(sample_rate, n_fft, n_bands, fmin, quantile)

    def compute(self, waves):
        # In float64, like librosa's numpy FFT: the top band's valley lies some
        # 120 dB below the frame's peak, under float32 FFT rounding noise.
        magnitude = tf.sqrt(self.stft.power(waves, tf.float64))
        peaks, valleys = [], []
        for start, stop, count in self.bands:
            band = magnitude[..., start:stop]
            if count == 1:
                peaks.append(tf.reduce_max(band, axis=-1))
                valleys.append(tf.reduce_min(band, axis=-1))
            else:
                peaks.append(tf.reduce_mean(tf.math.top_k(band, count).values, axis=-1))
                valleys.append(-tf.reduce_mean(tf.math.top_k(-band, count).values, axis=-1))
        peak = power_to_db(tf.stack(peaks, axis=-1), TOP_DB)
        valley = power_to_db(tf.stack(valleys, axis=-1), TOP_DB)
        return tf.cast(bins_first(peak - valley), tf.float32)


def octave_bands(sample_rate, n_fft, n_bands, fmin, quantile):
    """`[(first_bin, stop_bin, n_extreme_bins)]` per band, librosa's band rules:
    each band above the first also takes the bin just below it, each band but
    the last drops its top bin, and the quantile counts the band before that drop."""
    frequencies = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    edges = np.concatenate([[0.0], fmin * 2.0 ** np.arange(n_bands + 1)])
    if np.any(edges[:-1] >= sample_rate / 2):
        raise KserFeatureError(
            f"the top contrast band starts above Nyquist ({sample_rate / 2:g} Hz); "
            f"reduce fmin or n_bands. Received: fmin={fmin}, n_bands={n_bands}"
        )
    bands = []
    for k, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        inside = np.flatnonzero((frequencies >= low) & (frequencies <= high))
        if inside.size == 0:
            raise KserFeatureError(
                f"contrast band {low:g}-{high:g} Hz holds no FFT bin; raise n_fft or fmin. "
                f"Received: n_fft={n_fft}, fmin={fmin}"
            )
        start = inside[0] - 1 if k > 0 else inside[0]
        stop = len(frequencies) if k == n_bands else inside[-1] + 1
        count = max(1, int(np.rint(quantile * (stop - start))))
        if k < n_bands:
            stop -= 1
        bands.append((int(start), int(stop), count))
    return bands
