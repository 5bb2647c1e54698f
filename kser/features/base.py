"""What every feature extractor is: a named, parameterised, batched waveform -> image map.

All extractors share one frame grid so that their outputs can be stacked or
fused: frame `t` is centred on sample `t * hop_length` (librosa's `center=True`
with zero padding, the `pad_mode="constant"` default of librosa >= 0.10), so a
clip of `n` samples gives `1 + n // hop_length` frames whatever the feature.
At the defaults (16 kHz, hop 160 = 10 ms) a 3 s clip gives 301 frames.
"""

from __future__ import annotations

import json
import math
import numbers

import tensorflow as tf

from kser.errors import KserFeatureError
from kser.features.shared import shared, sharing

# Bump whenever an extractor's values change for the same parameters: cache keys include it.
FEATURE_CODE_VERSION = "1"

# The shared grid: 512-point FFT, 25 ms Hann window, 10 ms hop at 16 kHz.
N_FFT = 512
WIN_LENGTH = 400
HOP_LENGTH = 160


class FeatureExtractor:
    """Base class: `extractor(waves)` maps `(batch, n_samples)` float32 waveforms to
    `(batch, n_bins, n_frames)` float32 features with TensorFlow ops only, so it
    traces inside `tf.data.Dataset.map` after `.batch()`.

    Subclasses set `name`, pass their output height `n_bins` and every
    value-changing parameter to `__init__` (the parameters become `params`,
    JSON-serialisable, and `get(name, **params)` rebuilds the same extractor)
    and implement `compute`.
    """

    name: str = ""

    def __init__(self, n_bins: int, /, *, sample_rate: int, hop_length: int, **params):
        self.sample_rate = check_positive_int("sample_rate", sample_rate)
        self.hop_length = check_positive_int("hop_length", hop_length)
        self.n_bins = check_positive_int("n_bins", n_bins)
        self.params = {
            "sample_rate": self.sample_rate,
            "hop_length": self.hop_length,
            **{key: _plain(value) for key, value in params.items()},
        }

    def n_frames(self, n_samples: int) -> int:
        """Frames for a clip of `n_samples` samples (centred frames, one per hop)."""
        return 1 + int(n_samples) // self.hop_length

    def __call__(self, waves) -> tf.Tensor:
        waves = tf.cast(tf.convert_to_tensor(waves), tf.float32)
        if waves.shape.rank != 2:
            raise KserFeatureError(
                f"{self.name}: waveforms must have shape (batch, n_samples). "
                f"Received: shape={tuple(waves.shape)}"
            )
        # An extractor nested in another (a stack, functionals) with the same name and
        # parameters computes the same values: once per call of the outermost one.
        key = (self.name, json.dumps(self.params, sort_keys=True))
        with sharing():
            return shared(key, waves, lambda: self.compute(waves))

    def compute(self, waves: tf.Tensor) -> tf.Tensor:
        """`(batch, n_samples)` -> `(batch, n_bins, n_frames)`; subclasses implement it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{type(self).__name__}({arguments})"


def _plain(value):
    """numpy scalars as Python numbers, so that params stay JSON-serialisable."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return value


def check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise KserFeatureError(f"{name} must be a positive integer. Received: {name}={value!r}")
    return int(value)


def check_positive_float(name: str, value, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise KserFeatureError(f"{name} must be a positive number. Received: {name}={value!r}")
    return float(value)


def check_frequency_range(fmin, fmax, sample_rate: int) -> tuple[float, float]:
    """`fmax=None` means Nyquist; needs `0 <= fmin < fmax <= sample_rate / 2`."""
    nyquist = sample_rate / 2
    fmax = nyquist if fmax is None else fmax
    for name, value in (("fmin", fmin), ("fmax", fmax)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise KserFeatureError(f"{name} must be a number in Hz. Received: {name}={value!r}")
    if not 0 <= fmin < fmax <= nyquist:
        raise KserFeatureError(
            f"need 0 <= fmin < fmax <= sample_rate / 2 = {nyquist:g} Hz. "
            f"Received: fmin={fmin!r}, fmax={fmax!r}"
        )
    return float(fmin), float(fmax)
