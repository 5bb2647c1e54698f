"""The feature front end as an ONNX graph: `(batch, n_samples)` waveform -> raw features.

kser's extractors are TensorFlow ops, so tf2onnx converts most of them, except
for the FFT: ONNX has no complex tensors, and tf2onnx converts `RFFT` only when
its sole consumer is an absolute value. Before tracing, every `Stft` inside a
(copied) extractor is swapped for `MatmulStft`, whose power spectrum is two
matrix products with a fixed cosine and sine basis (the real-valued DFT) on the
same frames and window. Extractors with other FFTs (the YIN pitch track's
autocorrelation, the constant-Q family's FFT resampler, the tempogram, the
MFCC's DCT) stay outside the graph; `FrontEndError` names the op.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kser import features
from kser.errors import KserError
from kser.features.dsp import Stft, centered_frames

# TensorFlow ops that hold complex values or FFTs, which ONNX cannot represent.
_COMPLEX_OPS = ("RFFT", "IRFFT", "FFT", "IFFT", "Complex", "Real", "Imag", "Conj", "ComplexAbs")


class FrontEndError(KserError):
    """A feature extractor whose ops cannot be expressed in ONNX."""


class MatmulStft(Stft):
    """`Stft` whose power spectrum is a real-valued DFT: frames @ cos and frames @ sin."""

    def __init__(self, stft: Stft):
        self.__dict__.update(stft.__dict__)
        angles = 2 * np.pi * np.outer(np.arange(self.n_fft), np.arange(self.n_freqs)) / self.n_fft
        # The window folds into the basis: one matmul per part instead of a multiply first.
        self.cosine = self.window[:, None] * np.cos(angles)
        self.sine = self.window[:, None] * np.sin(angles)

    def power(self, waves, dtype=tf.float32) -> tf.Tensor:
        frames = centered_frames(tf.cast(waves, dtype), self.n_fft, self.hop_length)
        real = tf.matmul(frames, tf.constant(self.cosine, dtype))
        imaginary = tf.matmul(frames, tf.constant(self.sine, dtype))
        return tf.square(real) + tf.square(imaginary)


def onnx_ready(extractor):
    """A new `extractor` (same name and parameters) whose every `Stft` is a `MatmulStft`."""
    ready = features.get(extractor.name, **extractor.params)
    _prepare(ready, set())
    return ready


def front_end_function(extractor, n_samples: int):
    """The traced `tf.function` of `onnx_ready(extractor)` on `(None, n_samples)` waveforms.

    Raises `FrontEndError` naming the ops ONNX cannot hold, if the graph has any.
    """
    ready = onnx_ready(extractor)
    function = tf.function(lambda waveform: ready(waveform))
    signature = tf.TensorSpec((None, n_samples), tf.float32, name="waveform")
    concrete = function.get_concrete_function(signature)
    blocked = sorted(_complex_ops(concrete.graph))
    if blocked:
        raise FrontEndError(
            f"feature {extractor.name!r} cannot run in ONNX: its graph uses "
            f"{', '.join(blocked)} (complex values / FFT, which ONNX lacks)"
        )
    return function, signature


def _complex_ops(graph) -> set[str]:
    """Complex/FFT op types in `graph` and in the functions it calls."""
    definition = graph.as_graph_def()
    types = {node.op for node in definition.node}
    types |= {node.op for function in definition.library.function for node in function.node_def}
    return types & set(_COMPLEX_OPS)


def _prepare(value, seen: set) -> None:
    """In `value` and the objects it holds: each `Stft` becomes a `MatmulStft`, and each
    constant tensor a numpy array (tf2onnx would take a captured tensor for an input)."""
    if id(value) in seen or not hasattr(value, "__dict__"):
        return
    seen.add(id(value))
    for name, held in vars(value).items():
        if type(held) is Stft:
            setattr(value, name, MatmulStft(held))
        elif isinstance(held, tf.Tensor):
            setattr(value, name, held.numpy())
        elif isinstance(held, (list, tuple)):
            for item in held:
                _prepare(item, seen)
        else:
            _prepare(held, seen)
