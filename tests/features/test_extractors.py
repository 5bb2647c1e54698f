"""Fast tier: every extractor on synthetic signals with known pitch, level and rhythm."""

from __future__ import annotations

import json

import librosa
import numpy as np
import pytest
import tensorflow as tf

from kser import features
from kser.errors import KserFeatureError
from kser.features.dsp import delta
from tests.helpers import tone

SAMPLE_RATE = 16000
CLIP = 48000  # 3 s: 301 frames of 10 ms
N_FRAMES = 301


@pytest.fixture(scope="module")
def two_clips():
    """A 440 Hz tone and a noise burst in a quiet floor, 3 s each."""
    rng = np.random.default_rng(0)
    burst = 0.01 * rng.standard_normal(CLIP)
    burst[16000:32000] *= 30
    return np.stack([tone(440.0, 3.0, SAMPLE_RATE, 0.5), burst]).astype(np.float32)


@pytest.fixture(scope="module")
def all_outputs(two_clips):
    return {name: features.get(name)(two_clips).numpy() for name in features.names()}


def test_names_are_the_13_representations_in_study_order():
    assert features.names() == (
        "mel",
        "stft",
        "mfcc",
        "cqt",
        "chroma",
        "tonnetz",
        "hpss",
        "zcr",
        "rms",
        "contrast",
        "tempogram",
        "delta_mfcc",
        "delta_tempogram",
    )


@pytest.mark.parametrize("name", features.names())
def test_every_feature_is_batch_bins_frames_on_the_shared_grid(name, all_outputs):
    extractor = features.get(name)
    output = all_outputs[name]
    assert extractor.n_frames(CLIP) == N_FRAMES
    assert output.shape == (2, extractor.n_bins, N_FRAMES)
    assert output.dtype == np.float32
    assert np.all(np.isfinite(output))
    # The two clips differ, so a feature that ignored its input would fail here.
    assert not np.allclose(output[0], output[1])


@pytest.mark.parametrize("name", features.names())
def test_params_are_json_and_rebuild_the_same_extractor(name):
    extractor = features.get(name)
    params = json.loads(json.dumps(extractor.params))
    assert params["sample_rate"] == SAMPLE_RATE
    rebuilt = features.get(name, **params)
    assert rebuilt.params == extractor.params
    assert rebuilt.n_bins == extractor.n_bins


def test_a_clip_is_the_same_alone_and_in_a_batch(two_clips, all_outputs):
    alone = features.get("mel")(two_clips[1:]).numpy()[0]
    np.testing.assert_allclose(alone, all_outputs["mel"][1], atol=1e-4)


@pytest.mark.parametrize("name", ["mfcc", "cqt", "hpss"])
def test_extractors_trace_inside_tf_data_map_after_batch(name, two_clips, all_outputs):
    dataset = tf.data.Dataset.from_tensor_slices(two_clips).batch(2).map(features.get(name))
    (batch,) = list(dataset)
    assert batch.shape == (2, features.get(name).n_bins, N_FRAMES)
    np.testing.assert_allclose(batch.numpy(), all_outputs[name], atol=1e-3)


def test_a_tone_peaks_at_its_stft_and_mel_bins():
    waves = tone(1000.0, 1.0, SAMPLE_RATE)[None]
    stft = features.get("stft")(waves).numpy()[0]
    assert np.argmax(stft.mean(axis=1)) == round(1000.0 / (SAMPLE_RATE / 512))
    mel = features.get("mel")(waves).numpy()[0]
    centres = librosa.mel_frequencies(64 + 2, fmax=SAMPLE_RATE / 2)[1:-1]
    assert np.argmax(mel.mean(axis=1)) == np.argmin(np.abs(centres - 1000.0))


def test_a_tone_peaks_at_its_cqt_semitone():
    waves = tone(440.0, 3.0, SAMPLE_RATE)[None]
    cqt = features.get("cqt")(waves).numpy()[0]
    fmin = features.get("cqt").params["fmin"]
    assert np.argmax(cqt[:, 100:200].mean(axis=1)) == round(12 * np.log2(440.0 / fmin))


def test_chroma_of_a4_peaks_at_a():
    waves = tone(440.0, 3.0, SAMPLE_RATE)[None]
    chroma = features.get("chroma")(waves).numpy()[0]
    assert np.all(np.argmax(chroma[:, 50:250], axis=0) == 9)  # C, C#, ..., A


def test_rms_of_a_sine_is_amplitude_over_root_two():
    # 200 Hz: a 25 ms frame holds five whole periods.
    waves = tone(200.0, 1.0, SAMPLE_RATE, amplitude=0.3)[None]
    rms = features.get("rms")(waves).numpy()[0, 0]
    np.testing.assert_allclose(rms[5:-5], 0.3 / np.sqrt(2), rtol=1e-3)


def test_zero_crossing_rate_of_a_tone_is_twice_its_frequency():
    waves = tone(500.0, 1.0, SAMPLE_RATE)[None]
    zcr = features.get("zcr")(waves).numpy()[0, 0]
    # 2 crossings per period; a 400-sample frame holds 399 neighbour pairs.
    np.testing.assert_allclose(zcr[5:-5], 2 * 500.0 / SAMPLE_RATE, atol=1.5 / 400)


def test_hpss_puts_a_steady_tone_in_the_harmonic_half():
    waves = tone(440.0, 3.0, SAMPLE_RATE)[None]
    hpss = features.get("hpss")(waves).numpy()[0]
    harmonic, percussive = hpss[:64], hpss[64:]
    band = np.argmax(harmonic[:, 150])
    assert harmonic[band, 50:250].mean() > percussive[band, 50:250].mean() + 20.0


def test_tempogram_of_a_click_train_peaks_at_its_period():
    period_frames = 25  # 250 ms between clicks
    waves = np.zeros((1, CLIP), np.float32)
    waves[0, :: period_frames * 160] = 1.0
    tempogram = features.get("tempogram")(waves).numpy()[0]
    profile = tempogram[:, 100:200].mean(axis=1)
    assert np.argmax(profile[10:60]) + 10 == period_frames


def test_delta_of_a_ramp_is_its_slope_up_to_the_edges():
    ramp = tf.constant(np.arange(30, dtype=np.float32)[None, None, :] * 0.5)
    np.testing.assert_allclose(delta(ramp).numpy(), 0.5, atol=1e-5)


@pytest.mark.parametrize(
    "name, params",
    [
        ("mel", {"n_mels": 0}),
        ("mel", {"fmax": 9000.0}),
        ("mel", {"hop_length": 1.5}),
        ("stft", {"win_length": 600}),
        ("stft", {"top_db": -1.0}),
        ("mfcc", {"n_mfcc": 100}),
        ("cqt", {"n_bins": 120}),
        ("chroma", {"bins_per_octave": 30}),
        ("hpss", {"kernel_size": 4}),
        ("zcr", {"frame_length": 1}),
        ("contrast", {"n_bands": 8}),
        ("contrast", {"quantile": 1.5}),
        ("tempogram", {"tempo_window": 0}),
        ("delta_mfcc", {"delta_width": 4}),
        ("mel", {"no_such_parameter": 1}),
        ("no_such_feature", {}),
    ],
)
def test_bad_parameters_raise_a_feature_error_naming_them(name, params):
    with pytest.raises(KserFeatureError, match="Received"):
        features.get(name, **params)


def test_waveforms_must_be_batch_by_samples():
    with pytest.raises(KserFeatureError, match="Received: shape"):
        features.get("rms")(np.zeros(CLIP, np.float32))


def test_hpss_rejects_clips_shorter_than_half_its_kernel():
    with pytest.raises(KserFeatureError, match="Received: n_samples=1600"):
        features.get("hpss")(np.zeros((1, 1600), np.float32))
