import numpy as np
import pytest
import tensorflow as tf

from kser.augment import waveform_ops
from tests.helpers import tone

SR = 16000
SEED = tf.constant([5, 6], tf.int64)


def dominant_frequency(samples):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return np.argmax(spectrum) * SR / len(samples)


def burst(frequency=440.0, start=0.1, stop=0.3, seconds=0.5):
    """A tone between `start` and `stop` seconds, silence around it, batch of 2."""
    wave = np.zeros(int(seconds * SR), np.float32)
    wave[int(start * SR) : int(stop * SR)] = tone(frequency, stop - start)
    return np.stack([wave, wave])


def burst_edges(wave):
    """Start and end (s) of the part whose 10 ms RMS is above half its maximum."""
    rms = np.sqrt((wave[: len(wave) // 160 * 160].reshape(-1, 160) ** 2).mean(axis=1))
    loud = np.flatnonzero(rms > rms.max() / 2)
    return loud[0] * 0.01, (loud[-1] + 1) * 0.01


def test_gain_scales_by_the_stated_decibels():
    waves = np.stack([tone(300.0, 0.1), tone(500.0, 0.1)])
    out = waveform_ops.gain(tf.constant(waves), SEED, gain_db=(6.0, 6.0)).numpy()
    np.testing.assert_allclose(out, waves * 10 ** (6 / 20), rtol=1e-5)


def test_vocoder_at_rate_one_reconstructs_the_input():
    waves = np.stack([tone(440.0, 0.5), tone(300.0, 0.5)])
    out = waveform_ops.phase_vocoder(tf.constant(waves), tf.ones([2]), waves.shape[1], SR)
    np.testing.assert_allclose(out.numpy(), waves, atol=1e-3)


@pytest.mark.parametrize("semitones", [3.0, -3.0])
def test_pitch_shift_moves_a_tones_frequency_by_the_stated_ratio_and_keeps_its_timing(semitones):
    waves = burst()
    out = waveform_ops.pitch_shift(tf.constant(waves), SEED, semitones=(semitones, semitones))
    out = out.numpy()
    assert out.shape == waves.shape
    expected = 440.0 * 2 ** (semitones / 12)
    assert dominant_frequency(out[0]) == pytest.approx(expected, rel=0.01)
    start, stop = burst_edges(out[1])
    assert start == pytest.approx(0.1, abs=0.015) and stop == pytest.approx(0.3, abs=0.015)


def test_time_stretch_scales_durations_by_the_rate_and_keeps_the_pitch():
    waves = burst()
    out = waveform_ops.time_stretch(tf.constant(waves), SEED, rate=(0.8, 0.8)).numpy()
    assert out.shape == waves.shape
    start, stop = burst_edges(out[0])
    assert start == pytest.approx(0.1 / 0.8, abs=0.015)
    assert stop == pytest.approx(0.3 / 0.8, abs=0.015)
    assert dominant_frequency(out[1]) == pytest.approx(440.0, abs=4.0)


def test_reverb_adds_a_tail_that_decays_in_the_stated_rt60():
    waves = np.zeros((2, SR), np.float32)
    waves[:, 800] = 1.0
    out = waveform_ops.reverb(tf.constant(waves), SEED, rt60=(0.3, 0.3), drr_db=(0.0, 0.0))
    out = out.numpy()
    assert out.shape == waves.shape
    for wave in out:
        assert np.abs(wave[:800]).max() < 1e-4  # causal
        assert np.argmax(np.abs(wave)) == 800  # the direct sound leads
        tail = wave[801:]
        # Schroeder backward integration; RT60 from the -5 to -25 dB slope.
        decay = 10 * np.log10(np.cumsum(tail[::-1] ** 2)[::-1] / np.sum(tail**2))
        t5, t25 = np.argmax(decay < -5) / SR, np.argmax(decay < -25) / SR
        assert 3 * (t25 - t5) == pytest.approx(0.3, rel=0.15)
        # Direct-to-reverberant energy ratio of 0 dB.
        assert np.sum(tail**2) == pytest.approx(wave[800] ** 2, rel=0.05)


def test_reverb_keeps_the_clips_loudness():
    waves = burst()
    out = waveform_ops.reverb(tf.constant(waves), SEED).numpy()
    np.testing.assert_allclose(np.sqrt((out**2).mean(1)), np.sqrt((waves**2).mean(1)), rtol=1e-4)
    assert not np.allclose(out, waves, atol=1e-3)
