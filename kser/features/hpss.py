"""Harmonic-percussive source separation (HPSS), as log-mel images of both parts.

Median filtering (Fitzgerald 2010, `librosa.decompose.hpss`): across time the
magnitude STFT keeps harmonic (steady) partials, across frequency percussive
(broadband) events; soft masks (power 2) split the spectrogram between them.
The medians are exact: a Batcher sorting network over the shifted copies of
the spectrogram, compiled with XLA, which fuses its min/max steps into one pass.
Parity with librosa 0.11 (tests/features/test_parity.py): 0.01 dB, float32
rounding.
"""

from __future__ import annotations

import tensorflow as tf

from kser.errors import KserFeatureError
from kser.features.base import FeatureExtractor, check_positive_int
from kser.features.dsp import bins_first
from kser.features.spectral import MelSpectrogram

# Below this float32 magnitude both medians count as zero: the masks split evenly.
TINY = 1.1754944e-38


class HarmonicPercussive(FeatureExtractor):
    """Harmonic and percussive log-mel spectrograms, stacked along the bin axis.

    Equals `librosa.decompose.hpss(stft, kernel_size, power=2.0, margin=1.0)`,
    then `power_to_db(melspectrogram(S=|part|**2), ref=1.0, top_db=80)` per part.

    Args:
        kernel_size: median filter length, in frames (harmonic) and bins
            (percussive); odd (31: librosa's default, 310 ms and 969 Hz).
        **mel_params: the `MelSpectrogram` parameters (also the STFT grid).

    Output: `(batch, 2 * n_mels, n_frames)` dB: harmonic bands first, then percussive.
    """

    name = "hpss"

    def __init__(self, *, kernel_size=31, **mel_params):
        self.mel = MelSpectrogram(**mel_params)
        check_positive_int("kernel_size", kernel_size)
        if kernel_size % 2 == 0 or kernel_size // 2 > self.mel.stft.n_freqs:
            raise KserFeatureError(
                f"kernel_size must be odd and at most twice the {self.mel.stft.n_freqs} "
                f"frequency bins. Received: kernel_size={kernel_size}"
            )
        super().__init__(2 * self.mel.n_bins, **self.mel.params, kernel_size=kernel_size)

    def compute(self, waves):
        half = self.params["kernel_size"] // 2
        n_samples = waves.shape[1]
        if n_samples is not None and self.n_frames(n_samples) < half:
            # The mirrored edges of the median filter need half a kernel of frames.
            raise KserFeatureError(
                f"hpss: kernel_size={half * 2 + 1} needs clips of at least {half} frames. "
                f"Received: n_samples={n_samples} ({self.n_frames(n_samples)} frames)"
            )
        magnitude = tf.sqrt(self.mel.stft.power(waves))
        harmonic_mask = soft_masks(magnitude, self.params["kernel_size"])
        parts = [magnitude * harmonic_mask, magnitude * (1.0 - harmonic_mask)]
        return bins_first(tf.concat([self.mel.db_from_power(tf.square(p)) for p in parts], -1))


@tf.function(jit_compile=True)
def soft_masks(magnitude, kernel_size):
    """Harmonic soft mask of a `(batch, n_frames, n_freqs)` magnitude STFT; the
    percussive mask is one minus it (margin 1)."""
    harmonic = median_filter(magnitude, kernel_size, axis=1)
    percussive = median_filter(magnitude, kernel_size, axis=2)
    larger = tf.maximum(harmonic, percussive)
    silent = larger < TINY
    scale = tf.where(silent, 1.0, larger)
    harmonic_share = tf.square(harmonic / scale)
    percussive_share = tf.square(percussive / scale)
    mask = harmonic_share / tf.where(silent, 1.0, harmonic_share + percussive_share)
    return tf.where(silent, 0.5, mask)


def median_filter(values, size, axis):
    """Running median of odd `size` along `axis`, edges mirrored
    (`scipy.ndimage.median_filter(mode="reflect")`)."""
    half = size // 2
    length = tf.shape(values)[axis]
    padding = [[0, 0]] * values.shape.rank
    padding[axis] = [half, half]
    padded = tf.pad(values, padding, mode="SYMMETRIC")
    leading = (slice(None),) * axis
    wires = [padded[leading + (slice(i, i + length),)] for i in range(size)]
    # Unused wires stand for +inf: a comparator against one moves nothing, or moves
    # the finite value down. Comparators that cannot reach the middle wire are
    # dropped by the graph optimiser.
    wires += [None] * ((1 << (size - 1).bit_length()) - size)
    for low, high in batcher_comparators(len(wires)):
        if wires[high] is None:
            continue
        if wires[low] is None:
            wires[low], wires[high] = wires[high], None
            continue
        wires[low], wires[high] = (
            tf.minimum(wires[low], wires[high]),
            tf.maximum(wires[low], wires[high]),
        )
    return wires[half]


def batcher_comparators(n):
    """Batcher's odd-even merge sort network for `n` (a power of two) wires:
    `(low, high)` pairs; after them wire `i` holds the `i`-th smallest value."""
    pairs = []

    def merge(start, count, stride):
        step = 2 * stride
        if step < count:
            merge(start, count, step)
            merge(start + stride, count, step)
            pairs.extend(
                (i, i + stride) for i in range(start + stride, start + count - stride, step)
            )
        else:
            pairs.append((start, start + stride))

    def sort(start, count):
        if count > 1:
            sort(start, count // 2)
            sort(start + count // 2, count // 2)
            merge(start, count, 1)

    sort(0, n)
    return pairs
