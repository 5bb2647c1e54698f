"""Augmentations of waveforms `(batch, n_samples)`, float32, before feature extraction.

Each op is `op(waves, seed, **params) -> waves` of the same shape, drawing its
random values per example from the stateless `seed` (int64 `[2]`). Additive
noise is `kser.augment.shared_ops.add_noise`, shared with the features.

Time stretch and pitch shift use a phase vocoder (as librosa.effects does):
the STFT frames are read at a rate-scaled pace, their magnitudes interpolated
and their phases advanced by each input frame-to-frame phase difference, then
inverted. Pitch shift = stretch by the pitch ratio, then resample back by
linear interpolation, so the duration stays and only the pitch moves.
"""

from __future__ import annotations

import math

import tensorflow as tf

from kser.augment.sampling import check_range, split_seed, uniform
from kser.augment.shared_ops import interpolate_last_axis, per_example
from kser.data.audio import SAMPLE_RATE

# Phase vocoder frames: 32 ms Hann window, 75% overlap (hop = window / 4).
VOCODER_WINDOW_SECONDS = 0.032
# Amplitude decay that makes energy fall by 60 dB at t = RT60: exp(-ln(1000) t / RT60).
LN_1000 = math.log(1000.0)


def gain(waves, seed, gain_db=(-6.0, 6.0)):
    """Multiply each example by a gain drawn from `gain_db` (dB, within [-60, 60])."""
    gain_db = check_range("gain_db", gain_db, -60.0, 60.0)
    decibels = uniform(seed, tf.shape(waves)[0], gain_db)
    return waves * per_example(10.0 ** (decibels / 20.0), 2)


def time_stretch(waves, seed, rate=(0.8, 1.25), sample_rate=SAMPLE_RATE):
    """Change the tempo by a `rate` drawn per example, keeping the pitch and `n_samples`.

    A rate above 1 speeds speech up (the end becomes silence); below 1 slows it
    down (the end is cropped). Phase vocoder, see the module docstring.

    Args:
        rate: (low, high) speed factor, within [0.25, 4].
        sample_rate: of `waves`, in Hz; sets the vocoder frame length.
    """
    rate = check_range("rate", rate, 0.25, 4.0)
    rates = uniform(seed, tf.shape(waves)[0], rate)
    return phase_vocoder(waves, rates, tf.shape(waves)[1], sample_rate)


def pitch_shift(waves, seed, semitones=(-2.0, 2.0), sample_rate=SAMPLE_RATE):
    """Move the pitch by `semitones` drawn per example, keeping the duration.

    Every frequency is multiplied by `ratio = 2 ** (semitones / 12)`: the clip is
    slowed down by `ratio` (phase vocoder), then read `ratio` times faster by
    linear interpolation. Linear interpolation aliases a little above
    `sample_rate / (2 * ratio)`; at a few semitones that is above 7 kHz at
    16 kHz, where speech has little energy.

    Args:
        semitones: (low, high) shift, within [-12, 12]; fractions are allowed.
        sample_rate: of `waves`, in Hz.
    """
    semitones = check_range("semitones", semitones, -12.0, 12.0)
    n_samples = tf.shape(waves)[1]
    ratios = 2.0 ** (uniform(seed, tf.shape(waves)[0], semitones) / 12.0)
    # Long enough for the largest ratio in the batch to read n_samples from it.
    stretched_length = (
        tf.cast(tf.math.ceil(tf.cast(n_samples, tf.float32) * tf.reduce_max(ratios)), tf.int32) + 2
    )
    stretched = phase_vocoder(waves, 1.0 / ratios, stretched_length, sample_rate)
    positions = tf.cast(tf.range(n_samples), tf.float32)[tf.newaxis, :] * ratios[:, tf.newaxis]
    return interpolate_last_axis(stretched, positions, 0.0)


def reverb(waves, seed, rt60=(0.2, 0.6), drr_db=(0.0, 12.0), sample_rate=SAMPLE_RATE):
    """Simple room reverberation: convolve with a synthetic impulse response.

    The response is the direct sound (a unit impulse) plus exponentially decaying
    white noise whose energy falls by 60 dB in `rt60` seconds and whose total
    energy is `drr_db` below the direct sound's. The output is rescaled to the
    input's RMS, so reverb does not also act as a gain.

    Args:
        rt60: (low, high) reverberation time in seconds, within [0.01, 3].
        drr_db: (low, high) direct-to-reverberant energy ratio in dB, within [-20, 40].
        sample_rate: of `waves`, in Hz.
    """
    rt60 = check_range("rt60", rt60, 0.01, 3.0)
    drr_db = check_range("drr_db", drr_db, -20.0, 40.0)
    rt60_seed, drr_seed, noise_seed = tf.unstack(split_seed(seed, 3))
    batch_size, n_samples = tf.shape(waves)[0], tf.shape(waves)[1]
    times = uniform(rt60_seed, batch_size, rt60)[:, tf.newaxis]
    ratios_db = uniform(drr_seed, batch_size, drr_db)[:, tf.newaxis]

    response_length = int(math.ceil(rt60[1] * sample_rate))
    t = tf.range(1, response_length, dtype=tf.float32)[tf.newaxis, :] / sample_rate
    tail = tf.random.stateless_normal([batch_size, response_length - 1], noise_seed)
    tail *= tf.exp(-LN_1000 * t / times)
    tail *= tf.sqrt(
        10.0 ** (-ratios_db / 10.0) / tf.reduce_sum(tf.square(tail), axis=1, keepdims=True)
    )
    response = tf.concat([tf.ones([batch_size, 1]), tail], axis=1)

    # Linear (not circular) convolution through a zero-padded FFT.
    fft_length = 2 ** tf.cast(
        tf.math.ceil(tf.math.log(tf.cast(n_samples + response_length, tf.float32)) / math.log(2.0)),
        tf.int32,
    )
    spectrum = tf.signal.rfft(waves, [fft_length]) * tf.signal.rfft(response, [fft_length])
    wet = tf.signal.irfft(spectrum, [fft_length])[:, :n_samples]
    return wet * per_example(_rms(waves) / tf.maximum(_rms(wet), 1e-12), 2)


def phase_vocoder(waves, rates, out_length, sample_rate=SAMPLE_RATE):
    """Time-stretch each example by its `rates` entry, pitch unchanged: `(batch, out_length)`.

    Output sample `n` holds the input around sample `n * rate` (rate > 1 = faster);
    beyond the input's end the output is silent.
    """
    frame_length = 2 ** round(math.log2(VOCODER_WINDOW_SECONDS * sample_rate))
    hop = frame_length // 4
    # Left padding so that every output sample is covered by the full 4 overlapping
    # frames inverse_stft's window normalisation assumes.
    padding = frame_length - hop
    padded = tf.pad(waves, [[0, 0], [padding, frame_length]])
    spectra = tf.signal.stft(padded, frame_length, hop, fft_length=frame_length)
    n_input_frames = tf.shape(spectra)[1]
    # Two silent frames past the end, for reads beyond it.
    spectra = tf.pad(spectra, [[0, 0], [0, 2], [0, 0]])

    # Enough frames for the last output sample to be overlapped by 4 of them too.
    n_output_frames = (padding + out_length - 1) // hop + 1
    rates = rates[:, tf.newaxis]
    # Output frame m is centred where input frame `steps[m]` is, with padded sample
    # `padding + n` of the output matching padded sample `padding + n * rate` of the input.
    steps = tf.cast(tf.range(n_output_frames), tf.float32)[tf.newaxis, :] * rates
    steps += (padding - frame_length / 2) * (1.0 - rates) / hop
    steps = tf.maximum(steps, 0.0)
    index = tf.minimum(tf.cast(tf.floor(steps), tf.int32), n_input_frames)
    magnitudes = tf.abs(spectra)
    # The phase advances by the input's phase difference from each frame to the next
    # (equal, modulo 2π, to librosa's expected advance plus deviation).
    advances = tf.math.angle(spectra[:, 1:] * tf.math.conj(spectra[:, :-1]))
    fraction = (steps - tf.floor(steps))[..., tf.newaxis]
    left = tf.gather(magnitudes, index, axis=1, batch_dims=1)
    right = tf.gather(magnitudes, index + 1, axis=1, batch_dims=1)
    magnitude = (1.0 - fraction) * left + fraction * right
    advance = tf.gather(advances, index, axis=1, batch_dims=1)
    phase = tf.math.angle(spectra[:, :1]) + tf.cumsum(advance, axis=1, exclusive=True)
    frames = tf.complex(magnitude * tf.cos(phase), magnitude * tf.sin(phase))
    window = tf.signal.inverse_stft_window_fn(hop)
    stretched = tf.signal.inverse_stft(
        frames, frame_length, hop, fft_length=frame_length, window_fn=window
    )
    return stretched[:, padding : padding + out_length]


def _rms(waves):
    return tf.sqrt(tf.reduce_mean(tf.square(waves), axis=1))
