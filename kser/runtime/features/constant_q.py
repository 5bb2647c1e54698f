"""The constant-Q family (`kser.features.constant_q`, `kser.features.decimation`) in numpy.

The kernels, the octave plan, the chroma folding, the tonnetz projection and
soxr's decimation filter taps are the export's arrays, taken from the
TensorFlow extractor; the computation is the same, in float64: octave by
octave, the clip decimated by FFT with soxr's filter, then one strided
correlation with each octave's [real | imaginary] kernels.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from kser.runtime.features.base import NumpyExtractor
from kser.runtime.features.dsp import bins_first, normalize, power_to_db


class Decimator:
    """Copies of `(batch, n)` clips decimated by `2**level` (`kser.features.decimation`)."""

    def __init__(self, levels, first_factor_level: int, taps: dict[int, np.ndarray]):
        self.levels = sorted(set(levels))
        self.taps = taps
        max_level = self.levels[-1]
        first = max(1, first_factor_level)
        steps = [(0, first)] + [(level, level + 1) for level in range(first, max_level)]
        self.steps = steps if max_level else []
        self.block = 2**max_level
        reach = max(
            (2**low * (len(taps[2 ** (high - low)]) // 2) for low, high in self.steps), default=0
        )
        self.guard = self.block * math.ceil(reach / self.block)

    def __call__(self, waves: np.ndarray) -> dict[int, np.ndarray]:
        n_samples = waves.shape[1]
        length = self.block
        while length < n_samples + 2 * self.guard or length % self.block:
            length = scipy.fft.next_fast_len(length + 1, real=True)
        signals = {0: np.pad(waves, [(0, 0), (self.guard, length - n_samples - self.guard)])}
        for low, high in self.steps:
            factor = 2 ** (high - low)
            in_length, out_length = length // 2**low, length // 2**high
            response = self._response(factor, in_length, out_length // 2 + 1)
            spectrum = np.fft.rfft(signals[low], axis=-1)[:, : out_length // 2 + 1]
            decimated = np.fft.irfft(spectrum * response, out_length, axis=-1) / factor
            start = self.guard // 2**high
            inside = np.zeros(out_length)
            inside[start : start - (-n_samples // 2**high)] = 1.0
            signals[high] = decimated * inside
        return {
            level: signals[level][
                :, self.guard // 2**level : self.guard // 2**level - (-n_samples // 2**level)
            ]
            for level in self.levels
        }

    def _response(self, factor: int, length: int, n_bins: int) -> np.ndarray:
        taps = self.taps[factor]
        radius = len(taps) // 2
        circle = np.zeros(length)
        np.add.at(circle, np.arange(-radius, radius + 1) % length, taps)
        return np.fft.rfft(circle)[:n_bins].real


class ConstantQ:
    """CQT magnitude `(batch, n_frames, n_bins)`, lowest frequency first, from a node's
    `octave_plan` (rows: level, hop, n_fft), `kernel<i>` and `taps<factor>` arrays."""

    def __init__(self, node, hop_length: int):
        self.hop_length = hop_length
        plan = node.array("octave_plan").astype(int)
        self.octaves = [
            (level, hop, n_fft, node.array(f"kernel{i}")[:, 0, :].astype(np.float64))
            for i, (level, hop, n_fft) in enumerate(plan)
        ]
        factors = node.array("decimation_factors").astype(int)
        taps = {int(factor): node.array(f"taps{factor}") for factor in factors}
        self.decimator = Decimator(plan[:, 0], int(node.params["first_step_level"]), taps)

    def magnitude(self, waves: np.ndarray) -> np.ndarray:
        n_frames = 1 + waves.shape[1] // self.hop_length
        signals = self.decimator(waves.astype(np.float64))
        responses = []
        for level, hop, n_fft, kernel in self.octaves:
            padded = np.pad(signals[level], [(0, 0), (n_fft // 2, n_fft // 2)])
            frames = sliding_window_view(padded, n_fft, axis=-1)[:, ::hop][:, :n_frames]
            real_imag = frames @ kernel
            n_filters = kernel.shape[-1] // 2
            responses.append(np.hypot(real_imag[..., :n_filters], real_imag[..., n_filters:]))
        return np.concatenate(responses[::-1], axis=-1)


class ConstantQSpectrogram(NumpyExtractor):
    name = "cqt"

    def __init__(self, node):
        super().__init__(node)
        self.transform = ConstantQ(node.child("transform"), self.hop_length)

    def compute(self, waves):
        return bins_first(power_to_db(np.square(self.transform.magnitude(waves)), 80.0))


class Chroma(NumpyExtractor):
    name = "chroma"

    def __init__(self, node):
        super().__init__(node)
        self.transform = ConstantQ(node.child("transform"), self.hop_length)
        self.folding = node.array("folding").astype(np.float64)

    def pitch_classes(self, waves):
        """`(batch, n)` -> `(batch, n_frames, n_chroma)`, each frame divided by its maximum."""
        return normalize(self.transform.magnitude(waves) @ self.folding, axis=-1)

    def compute(self, waves):
        return bins_first(self.pitch_classes(waves))


class Tonnetz(NumpyExtractor):
    name = "tonnetz"

    def __init__(self, node):
        super().__init__(node)
        self.chroma = Chroma(node.child("chroma"))
        self.projection = node.array("projection").astype(np.float64)

    def compute(self, waves):
        chroma = normalize(self.chroma.pitch_classes(waves), axis=-1, order="sum")
        return bins_first(chroma @ self.projection)
