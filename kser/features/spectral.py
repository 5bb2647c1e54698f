"""Short-time Fourier features: linear and mel spectrograms, MFCCs and their deltas.

Parity with librosa 0.11 (tests/features/test_parity.py, real nEMO clips):
the same computation as librosa's, so the bounds are float32 rounding:
0.05 dB for `stft` (bins just above the -80 dB floor), 0.01 dB for `mel`,
0.01 for `mfcc` and 0.001 for `delta_mfcc` coefficients.
"""

from __future__ import annotations

import json

import librosa
import tensorflow as tf

from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError
from kser.features.base import (
    HOP_LENGTH,
    N_FFT,
    WIN_LENGTH,
    FeatureExtractor,
    check_frequency_range,
    check_positive_float,
    check_positive_int,
)
from kser.features.dsp import Stft, bins_first, delta, power_to_db
from kser.features.shared import shared

TOP_DB = 80.0


class StftFeature(FeatureExtractor):
    """Base of the features computed from the shared STFT grid (`self.stft`)."""

    def __init__(self, n_bins, /, *, sample_rate, n_fft, win_length, hop_length, **params):
        super().__init__(
            n_bins,
            sample_rate=sample_rate,
            hop_length=hop_length,
            n_fft=check_positive_int("n_fft", n_fft),
            win_length=check_positive_int("win_length", win_length),
            **params,
        )
        self.stft = Stft(self.params["n_fft"], self.params["win_length"], self.hop_length)


class LinearSpectrogram(StftFeature):
    """Log-magnitude STFT: `librosa.amplitude_to_db(|stft|, ref=1.0, top_db=80)`.

    Args:
        sample_rate, n_fft, win_length, hop_length: the frame grid (16 kHz, 512,
            400 = 25 ms Hann, 160 = 10 ms).
        top_db: floor, in dB below each clip's maximum (None: no floor).

    Output: `(batch, n_fft // 2 + 1, n_frames)` dB re amplitude 1.0; 257 bins.
    """

    name = "stft"

    def __init__(
        self,
        *,
        sample_rate=SAMPLE_RATE,
        n_fft=N_FFT,
        win_length=WIN_LENGTH,
        hop_length=HOP_LENGTH,
        top_db=TOP_DB,
    ):
        check_positive_int("n_fft", n_fft)
        super().__init__(
            n_fft // 2 + 1,
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            top_db=check_positive_float("top_db", top_db, allow_none=True),
        )

    def compute(self, waves):
        return bins_first(power_to_db(self.stft.power(waves), self.params["top_db"]))


class MelSpectrogram(StftFeature):
    """Log-mel power spectrogram: `librosa.power_to_db(melspectrogram(...), ref=1.0,
    top_db=80)`, Slaney mel scale and filter normalisation (librosa's defaults).

    Args:
        sample_rate, n_fft, win_length, hop_length: the frame grid.
        n_mels: mel bands (64).
        fmin, fmax: band edges in Hz (0 and Nyquist).
        top_db: floor, in dB below each clip's maximum (None: no floor).

    Output: `(batch, n_mels, n_frames)` dB re power 1.0.
    """

    name = "mel"

    def __init__(
        self,
        *,
        sample_rate=SAMPLE_RATE,
        n_fft=N_FFT,
        win_length=WIN_LENGTH,
        hop_length=HOP_LENGTH,
        n_mels=64,
        fmin=0.0,
        fmax=None,
        top_db=TOP_DB,
    ):
        check_positive_int("sample_rate", sample_rate)
        fmin, fmax = check_frequency_range(fmin, fmax, sample_rate)
        super().__init__(
            check_positive_int("n_mels", n_mels),
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            n_mels=n_mels,
            fmin=fmin,
            fmax=fmax,
            top_db=check_positive_float("top_db", top_db, allow_none=True),
        )
        filters = librosa.filters.mel(
            sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax
        )
        self.filters = tf.constant(filters.T)

    def db_from_power(self, power):
        """`(batch, n_frames, n_fft // 2 + 1)` STFT power -> `(batch, n_frames, n_mels)` dB."""
        return power_to_db(tf.matmul(power, self.filters), self.params["top_db"])

    def log_mel(self, waves):
        """`(batch, n_samples)` -> `(batch, n_frames, n_mels)` dB, once per call for every
        extractor that reads these bands (MFCC, tempogram, ...)."""
        key = ("log mel", json.dumps(self.params, sort_keys=True))
        return shared(key, waves, lambda: self.db_from_power(self.stft.power(waves)))

    def compute(self, waves):
        return bins_first(self.log_mel(waves))


class Mfcc(FeatureExtractor):
    """MFCCs: orthonormal DCT-II of the log-mel spectrogram, as `librosa.feature.mfcc`.

    Args:
        n_mfcc: coefficients kept (40).
        **mel_params: the `MelSpectrogram` parameters (64 bands by default).

    Output: `(batch, n_mfcc, n_frames)`.
    """

    name = "mfcc"

    def __init__(self, *, n_mfcc=40, **mel_params):
        self.mel = MelSpectrogram(**mel_params)
        check_positive_int("n_mfcc", n_mfcc)
        if n_mfcc > self.mel.n_bins:
            raise KserFeatureError(
                f"n_mfcc must not exceed n_mels={self.mel.n_bins}. Received: n_mfcc={n_mfcc}"
            )
        super().__init__(n_mfcc, **self.mel.params, n_mfcc=n_mfcc)

    def coefficients(self, waves):
        """`(batch, n_samples)` -> `(batch, n_frames, n_mfcc)`."""
        log_mel = self.mel.log_mel(waves)
        return tf.signal.dct(log_mel, type=2, norm="ortho")[..., : self.n_bins]

    def compute(self, waves):
        return bins_first(self.coefficients(waves))


class DeltaFeature(FeatureExtractor):
    """First-order deltas over time of another extractor's output
    (`librosa.feature.delta(base, width=delta_width)`).

    Subclasses set `base_class`; their parameters are `delta_width` (frames in
    the Savitzky-Golay window, odd, >= 3; 9) plus the base extractor's.
    Output: the base's shape and bins.
    """

    base_class: type[FeatureExtractor]

    def __init__(self, *, delta_width=9, **base_params):
        self.base = self.base_class(**base_params)
        super().__init__(
            self.base.n_bins, **self.base.params, delta_width=check_delta_width(delta_width)
        )

    def compute(self, waves):
        return delta(self.base(waves), self.params["delta_width"])


class DeltaMfcc(DeltaFeature):
    """First-order MFCC deltas, as `librosa.feature.delta(mfcc, width=9)`.

    Args:
        delta_width: frames in the Savitzky-Golay window (odd, >= 3; 9).
        **mfcc_params: the `Mfcc` parameters.

    Output: `(batch, n_mfcc, n_frames)`, the same bins as `mfcc`.
    """

    name = "delta_mfcc"
    base_class = Mfcc


def check_delta_width(width) -> int:
    check_positive_int("delta_width", width)
    if width < 3 or width % 2 == 0:
        raise KserFeatureError(
            f"delta_width must be an odd integer >= 3. Received: delta_width={width}"
        )
    return width
