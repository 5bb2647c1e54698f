"""The corruptions measured on synthetic signals: telephone band, exact SNR, reverberation time."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import chirp

from kser.channels import ops
from tests.helpers import tone

SAMPLE_RATE = 16000


def band_change_db(clean, corrupted, low, high):
    """How much the energy of `corrupted` in [low, high) Hz differs from that of `clean` (dB)."""
    frequencies = np.fft.rfftfreq(len(clean), 1 / SAMPLE_RATE)
    band = (frequencies >= low) & (frequencies < high)

    def energy(samples):
        return np.sum(np.abs(np.fft.rfft(samples))[band] ** 2)

    return 10 * np.log10(energy(corrupted) / energy(clean))


def test_the_telephone_removes_energy_outside_300_to_3400_hz_and_keeps_the_band():
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    sweep = (0.5 * chirp(t, 20, t[-1], 7900)).astype(np.float32)
    line = ops.telephone(sweep, SAMPLE_RATE)
    assert line.shape == sweep.shape and line.dtype == np.float32
    assert band_change_db(sweep, line, 0, 250) < -20
    assert band_change_db(sweep, line, 3700, 8000) < -40
    assert abs(band_change_db(sweep, line, 500, 3000)) < 1.0


def test_mu_law_codes_are_8_bit_and_decode_close_to_the_input():
    samples = np.linspace(-1, 1, 2001)
    codes = ops.mu_law_encode(samples)
    assert codes.dtype == np.uint8 and codes.min() == 0 and codes.max() == 255
    decoded = ops.mu_law_decode(codes)
    # Companding: the error grows with the amplitude, small near zero.
    quiet = np.abs(samples) < 0.01
    assert np.max(np.abs(decoded - samples)[quiet]) < 2e-4
    assert np.max(np.abs(decoded - samples)) < 0.025  # half a step at full scale


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0, -5.0])
def test_the_noise_sits_at_the_stated_snr_over_the_active_samples(snr_db):
    # Half a second of silence each side of a 1 s tone: the SNR is the tone's, not the clip's.
    silence = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    clean = np.concatenate([silence, tone(220, 1.0, SAMPLE_RATE, 0.3), silence])
    noisy = ops.add_noise(clean, SAMPLE_RATE, snr_db, np.random.default_rng(1))
    speech = slice(len(silence), len(silence) + SAMPLE_RATE)
    noise = noisy - clean
    measured = 10 * np.log10(np.mean(clean[speech] ** 2) / np.mean(noise[speech] ** 2))
    assert measured == pytest.approx(snr_db, abs=0.1)
    assert np.std(noise[: len(silence)]) > 0  # the noise covers the pauses too


def test_the_noise_is_pink_equal_power_per_octave():
    noise = ops.pink_noise(8 * SAMPLE_RATE, np.random.default_rng(0))
    spectrum = np.abs(np.fft.rfft(noise)) ** 2
    frequencies = np.fft.rfftfreq(len(noise), 1 / SAMPLE_RATE)
    octaves = [np.sum(spectrum[(frequencies >= f) & (frequencies < 2 * f)]) for f in (250, 1000)]
    assert 10 * np.log10(octaves[0] / octaves[1]) == pytest.approx(0.0, abs=1.0)
    white = np.random.default_rng(0).standard_normal(len(noise))
    white_spectrum = np.abs(np.fft.rfft(white)) ** 2
    white_octaves = [
        np.sum(white_spectrum[(frequencies >= f) & (frequencies < 2 * f)]) for f in (250, 1000)
    ]
    assert 10 * np.log10(white_octaves[1] / white_octaves[0]) > 5  # white would rise 6 dB


def schroeder_rt60(response):
    """RT60 from the Schroeder backward-integrated energy decay, fitted from -5 to -25 dB (T20)."""
    decay = np.cumsum(response[::-1] ** 2)[::-1]
    decay_db = 10 * np.log10(decay / decay[0])
    fitted = (decay_db <= -5) & (decay_db >= -25)
    times = np.flatnonzero(fitted) / SAMPLE_RATE
    slope = np.polyfit(times, decay_db[fitted], 1)[0]  # dB per second
    return -60.0 / slope


@pytest.mark.parametrize("rt60", [0.3, 0.8])
def test_the_room_impulse_response_decays_with_the_stated_rt60(rt60):
    response = ops.room_impulse_response(rt60, SAMPLE_RATE, np.random.default_rng(3))
    assert schroeder_rt60(response) == pytest.approx(rt60, rel=0.2)
    assert np.sum(response**2) == pytest.approx(1.0)
    direct_to_reverberant = 10 * np.log10(response[0] ** 2 / np.sum(response[1:] ** 2))
    assert direct_to_reverberant == pytest.approx(ops.DIRECT_TO_REVERBERANT_DB, abs=1e-6)


def test_reverberation_keeps_the_length_and_smears_a_click_over_the_rt60():
    click = np.zeros(SAMPLE_RATE, dtype=np.float32)
    click[100] = 1.0
    wet = ops.reverberate(click, SAMPLE_RATE, 0.5, np.random.default_rng(0))
    assert wet.shape == click.shape
    assert np.max(np.abs(wet[:100])) < 1e-6  # causal: nothing before the click (FFT round-off)
    # After 100 ms: the tail's half of the energy, decayed by exp(-2 ln(1000) 0.1 / RT60).
    expected = 0.5 * np.exp(-2 * ops.LN_1000 * 0.1 / 0.5)
    assert np.sum(wet[100 + SAMPLE_RATE // 10 :] ** 2) == pytest.approx(expected, rel=0.25)
