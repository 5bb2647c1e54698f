"""Rhythm: the autocorrelation tempogram of the onset strength, and its delta.

Parity with librosa 0.11 (tests/features/test_parity.py): onset strength as
`librosa.onset.onset_strength` on the shared mel spectrogram, tempogram as
`librosa.feature.tempogram(onset_envelope=...)`; the same arithmetic, so the
bounds are float32 rounding: 1e-5 on the [-1, 1] tempogram and on its delta.
"""

from __future__ import annotations

import numpy as np
import scipy.signal
import tensorflow as tf

from kser.features.base import FeatureExtractor, check_positive_int
from kser.features.dsp import bins_first, normalize
from kser.features.spectral import DeltaFeature, MelSpectrogram


class Tempogram(FeatureExtractor):
    """Local autocorrelation of the onset-strength envelope.

    Onset strength: the mean over mel bands of the positive frame-to-frame
    increase of the log-mel spectrogram, delayed by `1 + n_fft // (2 * hop)`
    frames as librosa does (`center=True`). Tempogram: Hann-windowed frames of
    `tempo_window` onset values centred on each frame (the envelope is padded
    with linear ramps to zero), autocorrelated, each frame divided by its lag-0
    value. Lag `l` frames is `60 * sample_rate / (hop_length * l)` BPM.

    Args:
        tempo_window: autocorrelation window in frames, also the number of lags
            (librosa's tempogram `win_length`; 192 = 1.92 s: lags 0 to 1.91 s,
            longer than a syllable or a stress foot).
        **mel_params: the `MelSpectrogram` parameters of the onset strength.

    Output: `(batch, tempo_window, n_frames)` in [-1, 1].
    """

    name = "tempogram"

    def __init__(self, *, tempo_window=192, **mel_params):
        self.mel = MelSpectrogram(**mel_params)
        tempo_window = check_positive_int("tempo_window", tempo_window)
        super().__init__(tempo_window, **self.mel.params, tempo_window=tempo_window)
        self.onset_delay = 1 + self.mel.params["n_fft"] // (2 * self.hop_length)
        self.window = tf.constant(scipy.signal.get_window("hann", tempo_window), tf.float32)
        # np.pad(mode="linear_ramp") to zero over tempo_window // 2 frames, as librosa pads.
        self.ramp = tf.constant(np.arange(tempo_window // 2) / (tempo_window // 2), tf.float32)
        # Zero padding to >= 2 * tempo_window - 1 makes the FFT autocorrelation linear.
        self.fft_length = 1 << (2 * tempo_window - 2).bit_length()

    def onset_strength(self, waves):
        """`(batch, n_samples)` -> `(batch, n_frames)`."""
        log_mel = self.mel.log_mel(waves)
        flux = tf.reduce_mean(tf.nn.relu(log_mel[:, 1:] - log_mel[:, :-1]), axis=-1)
        n_frames = tf.shape(log_mel)[1]
        delayed = tf.pad(flux, [[0, 0], [self.onset_delay, 0]])
        return delayed[:, :n_frames]

    def lags(self, waves):
        """`(batch, n_samples)` -> `(batch, n_frames, tempo_window)`."""
        onsets = self.onset_strength(waves)
        padded = tf.concat(
            [onsets[:, :1] * self.ramp, onsets, onsets[:, -1:] * self.ramp[::-1]], axis=1
        )
        frames = tf.signal.frame(padded, self.n_bins, 1, axis=-1)[:, : tf.shape(onsets)[1]]
        spectrum = tf.signal.rfft(frames * self.window, [self.fft_length])
        power = spectrum * tf.math.conj(spectrum)
        autocorrelation = tf.signal.irfft(power, [self.fft_length])[..., : self.n_bins]
        return normalize(autocorrelation, axis=-1)

    def compute(self, waves):
        return bins_first(self.lags(waves))


class DeltaTempogram(DeltaFeature):
    """First-order tempogram deltas over time, as `librosa.feature.delta(tempogram, width=9)`.

    Args:
        delta_width: frames in the Savitzky-Golay window (odd, >= 3; 9).
        **tempogram_params: the `Tempogram` parameters.

    Output: `(batch, tempo_window, n_frames)`, the same bins as `tempogram`.
    """

    name = "delta_tempogram"
    base_class = Tempogram
