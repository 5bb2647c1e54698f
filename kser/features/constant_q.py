"""Constant-Q features: the CQT, the CQT chromagram and the tonal centroids (tonnetz).

The CQT follows `librosa.cqt` step by step: librosa's own filter kernels
(Hann-windowed complex exponentials, L1-normalised, 1 % sparsified) applied
octave by octave to the clip decimated by two per octave while the hop
allows, then scaled by 1 / sqrt(filter length). Two things are organised for
batches instead: the decimation applies soxr's own anti-aliasing filter in
the frequency domain (`kser.features.decimation`), and each octave's kernels
act on the decimated clip as one strided convolution instead of an FFT per
frame and a product. Parity with librosa 0.11 (tests/features/test_parity.py):
`cqt` 0.05 dB; `chroma` and `tonnetz` 1e-4, on frames with sound. In digital
silence (a zero-padded clip's tail) every CQT bin holds rounding noise some
150 dB down, which chroma's per-frame normalisation turns into arbitrary
patterns, in librosa as here; those frames are not compared.

librosa's `chroma_cqt` estimates each clip's tuning by default; kser fixes it
at A440 (`tuning=0.0`), the reference the parity test and the benchmark use.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError
from kser.features.base import (
    HOP_LENGTH,
    FeatureExtractor,
    check_positive_float,
    check_positive_int,
)
from kser.features.decimation import Decimator
from kser.features.dsp import bins_first, normalize, power_to_db
from kser.features.shared import shared
from kser.features.spectral import TOP_DB

# librosa.note_to_hz("C1") (MIDI 24), without importing librosa (~1 s) when no CQT is built.
C1_HZ = 440.0 * 2.0 ** ((24 - 69) / 12.0)


class ConstantQ:
    """Batched CQT magnitude on the shared frame grid (`librosa.cqt`, tuning 0)."""

    def __init__(self, sample_rate, hop_length, fmin, n_bins, bins_per_octave, sparsity=0.01):
        import librosa  # builds the kernels once; imported here to keep `import kser` light

        self.hop_length = hop_length
        self.key = (
            "cqt magnitude",
            sample_rate,
            hop_length,
            fmin,
            n_bins,
            bins_per_octave,
            sparsity,
        )
        frequencies = librosa.cqt_frequencies(n_bins, fmin=fmin, bins_per_octave=bins_per_octave)
        ratio = 2.0 ** (2.0 / bins_per_octave)
        alpha = np.full(n_bins, (ratio - 1) / (ratio + 1))
        _, cutoff = librosa.filters.wavelet_lengths(freqs=frequencies, sr=sample_rate, alpha=alpha)
        if cutoff > sample_rate / 2:
            raise KserFeatureError(
                f"the top CQT filter reaches {cutoff:.0f} Hz, above Nyquist "
                f"({sample_rate / 2:g} Hz); lower fmin or n_bins. "
                f"Received: fmin={fmin}, n_bins={n_bins}"
            )
        n_octaves = math.ceil(n_bins / bins_per_octave)
        early_level = early_downsampling(sample_rate, hop_length, n_octaves, cutoff)
        base_rate = sample_rate / 2**early_level
        lengths, _ = librosa.filters.wavelet_lengths(freqs=frequencies, sr=base_rate, alpha=alpha)
        # (decimation level, hop, n_fft, kernel) from the top octave down, as librosa loops;
        # the octave hop halves with the rate while it is even.
        self.octaves = []
        level, octave_hop = early_level, hop_length // 2**early_level
        for octave in range(n_octaves):
            stop = n_bins - octave * bins_per_octave
            bins = slice(max(0, stop - bins_per_octave), stop)
            rate = sample_rate / 2**level
            basis, filter_lengths = librosa.filters.wavelet(
                freqs=frequencies[bins], sr=rate, alpha=alpha[bins]
            )
            n_fft = basis.shape[1]
            basis *= filter_lengths[:, None] / n_fft
            spectrum = np.fft.fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
            spectrum = librosa.util.sparsify_rows(spectrum, quantile=sparsity).toarray()
            # librosa scales the kernels by sqrt(base_rate / rate), the output by 1 / sqrt(length).
            gain = np.sqrt(base_rate / rate) / np.sqrt(lengths[bins])
            kernel = time_domain(spectrum * gain[:, None], n_fft)
            self.octaves.append((level, octave_hop, n_fft, tf.constant(kernel)))
            if octave_hop % 2 == 0:
                octave_hop //= 2
                level += 1
        self.decimator = Decimator([octave[0] for octave in self.octaves], early_level)

    def magnitude(self, waves):
        """`(batch, n_samples)` -> `(batch, n_frames, n_bins)`, lowest frequency first;
        once per call for every extractor on this transform (chroma, tonnetz)."""
        return shared(self.key, waves, lambda: self._magnitude(waves))

    def _magnitude(self, waves):
        n_samples = waves.shape[1]
        if n_samples is None:
            raise KserFeatureError("the CQT needs a static clip length; batch fixed-length clips")
        n_frames = 1 + n_samples // self.hop_length
        signals = self.decimator(waves)
        responses = []
        for level, hop, n_fft, kernel in self.octaves:
            # Centred frames (librosa's zero padding) met by a strided convolution,
            # which is faster than materialising frames that overlap many times.
            padded = tf.pad(signals[level], [[0, 0], [n_fft // 2, n_fft // 2]])[..., None]
            real_imag = tf.nn.conv1d(padded, kernel, stride=hop, padding="VALID")[:, :n_frames]
            n_filters = kernel.shape[-1] // 2
            real, imag = real_imag[..., :n_filters], real_imag[..., n_filters:]
            responses.append(tf.sqrt(tf.square(real) + tf.square(imag)))
        return tf.concat(responses[::-1], axis=-1)


def time_domain(kernel_spectrum, n_fft):
    """`(n_filters, n_fft // 2 + 1)` kernels acting on rfft frames -> `(n_fft, 1, 2 n_filters)`
    float32 [real | imaginary] convolution kernels acting on the frames themselves:
    `sum_k W[k] X[k]` with `X = rfft(x)` is `sum_n x[n] sum_k W[k] exp(-2 pi i k n / n_fft)`."""
    phases = np.exp(-2j * np.pi * np.outer(np.arange(n_fft), np.arange(n_fft // 2 + 1)) / n_fft)
    kernel = phases @ kernel_spectrum.T
    return np.concatenate([kernel.real, kernel.imag], axis=1)[:, None, :].astype(np.float32)


def early_downsampling(sample_rate, hop_length, n_octaves, cutoff) -> int:
    """Halvings librosa applies before the first octave when every filter sits far
    below Nyquist (librosa.core.constantq.__early_downsample_count)."""
    by_band = max(0, math.ceil(math.log2(sample_rate / 2 / cutoff)) - 1 - 1)
    twos = (hop_length & -hop_length).bit_length() - 1
    return min(by_band, max(0, twos - n_octaves + 1))


class ConstantQSpectrogram(FeatureExtractor):
    """CQT magnitude in dB: `librosa.amplitude_to_db(|librosa.cqt(...)|, ref=1.0, top_db=80)`.

    Args:
        sample_rate, hop_length: the frame grid (16 kHz, 160).
        fmin: lowest bin centre in Hz (C1 = 32.7 Hz).
        n_bins: bins (84: seven octaves, C1 to B7 = 3951 Hz).
        bins_per_octave: 12 (semitones).

    Output: `(batch, n_bins, n_frames)` dB. See the module docstring for parity.
    """

    name = "cqt"

    def __init__(
        self,
        *,
        sample_rate=SAMPLE_RATE,
        hop_length=HOP_LENGTH,
        fmin=C1_HZ,
        n_bins=84,
        bins_per_octave=12,
    ):
        super().__init__(
            check_positive_int("n_bins", n_bins),
            sample_rate=sample_rate,
            hop_length=hop_length,
            n_bins=n_bins,
            fmin=check_positive_float("fmin", fmin),
            bins_per_octave=check_bins_per_octave(bins_per_octave),
        )
        p = self.params
        self.transform = ConstantQ(
            self.sample_rate, self.hop_length, p["fmin"], self.n_bins, p["bins_per_octave"]
        )

    def compute(self, waves):
        magnitude = self.transform.magnitude(waves)
        return bins_first(power_to_db(tf.square(magnitude), TOP_DB))


class Chroma(FeatureExtractor):
    """CQT chromagram, as `librosa.feature.chroma_cqt(tuning=0.0)`: CQT magnitudes
    folded onto pitch classes (C first), each frame divided by its maximum.

    Args:
        sample_rate, hop_length: the frame grid (16 kHz, 160).
        fmin: lowest CQT frequency (C1).
        n_octaves: octaves of CQT analysed (7).
        bins_per_octave: CQT resolution (36, three bins per semitone).
        n_chroma: pitch classes (12).

    Output: `(batch, n_chroma, n_frames)` in [0, 1].
    """

    name = "chroma"

    def __init__(
        self,
        *,
        sample_rate=SAMPLE_RATE,
        hop_length=HOP_LENGTH,
        fmin=C1_HZ,
        n_octaves=7,
        bins_per_octave=36,
        n_chroma=12,
    ):
        check_positive_int("n_chroma", n_chroma)
        super().__init__(
            n_chroma,
            sample_rate=sample_rate,
            hop_length=hop_length,
            fmin=check_positive_float("fmin", fmin),
            n_octaves=check_positive_int("n_octaves", n_octaves),
            bins_per_octave=check_bins_per_octave(bins_per_octave),
            n_chroma=n_chroma,
        )
        if bins_per_octave % n_chroma:
            raise KserFeatureError(
                f"bins_per_octave must be a multiple of n_chroma={n_chroma}. "
                f"Received: bins_per_octave={bins_per_octave}"
            )
        p = self.params
        n_cqt_bins = p["n_octaves"] * p["bins_per_octave"]
        self.transform = ConstantQ(
            self.sample_rate, self.hop_length, p["fmin"], n_cqt_bins, p["bins_per_octave"]
        )
        import librosa

        folding = librosa.filters.cq_to_chroma(
            n_cqt_bins, bins_per_octave=p["bins_per_octave"], n_chroma=n_chroma, fmin=p["fmin"]
        )
        self.folding = tf.constant(folding.T.astype(np.float32))

    def pitch_classes(self, waves):
        """`(batch, n_samples)` -> `(batch, n_frames, n_chroma)`."""
        chroma = tf.matmul(self.transform.magnitude(waves), self.folding)
        return normalize(chroma, axis=-1)

    def compute(self, waves):
        return bins_first(self.pitch_classes(waves))


class Tonnetz(FeatureExtractor):
    """Tonal centroid features, as `librosa.feature.tonnetz(chroma=chroma_cqt(tuning=0.0))`:
    each chroma frame divided by its sum, projected on the circles of fifths,
    minor thirds and major thirds (x and y of each).

    Args:
        **chroma_params: the `Chroma` parameters.

    Output: `(batch, 6, n_frames)` in [-1, 1].
    """

    name = "tonnetz"

    def __init__(self, **chroma_params):
        self.chroma = Chroma(**chroma_params)
        super().__init__(6, **self.chroma.params)
        import librosa

        # librosa's projection, read off by transforming the unit chroma vectors.
        projection = librosa.feature.tonnetz(chroma=np.eye(self.chroma.n_bins))
        self.projection = tf.constant(projection.T.astype(np.float32))

    def compute(self, waves):
        chroma = normalize(self.chroma.pitch_classes(waves), axis=-1, order="sum")
        return bins_first(tf.matmul(chroma, self.projection))


def check_bins_per_octave(value) -> int:
    check_positive_int("bins_per_octave", value)
    if value < 2:
        raise KserFeatureError(
            f"bins_per_octave must be at least 2. Received: bins_per_octave={value}"
        )
    return value
