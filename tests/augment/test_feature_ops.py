import librosa
import numpy as np
import pytest
import tensorflow as tf

from kser.augment import feature_ops
from kser.errors import KserFeatureError
from tests.helpers import tone

SEED = tf.constant([3, 4], tf.int64)


def random_features(shape, seed=0):
    # A non-zero mean, so the mask fill (the clip's mean) is told apart from 0.
    return (np.random.default_rng(seed).normal(size=shape) + 2.0).astype(np.float32)


def masked_rows(example, fill):
    return np.flatnonzero(np.all(np.isclose(example, fill, atol=1e-6), axis=1))


def test_frequency_mask_sets_a_band_of_the_stated_width_to_the_clip_mean():
    features = random_features((6, 16, 10))
    out = feature_ops.frequency_mask(tf.constant(features), SEED, width=(0.25, 0.25), count=1)
    out = out.numpy()
    assert out.shape == features.shape
    starts = []
    for example, original in zip(out, features, strict=True):
        rows = masked_rows(example, original.mean())
        assert len(rows) == 4 and np.all(np.diff(rows) == 1)
        kept = np.setdiff1d(np.arange(16), rows)
        np.testing.assert_array_equal(example[kept], original[kept])
        starts.append(rows[0])
    assert len(set(starts)) > 1, "every example got the same band"


def test_time_mask_sets_a_run_of_the_stated_width_to_the_clip_mean():
    features = random_features((4, 8, 20))
    out = feature_ops.time_mask(tf.constant(features), SEED, width=(0.2, 0.2), count=1).numpy()
    for example, original in zip(out, features, strict=True):
        frames = masked_rows(example.T, original.mean())
        assert len(frames) == 4 and np.all(np.diff(frames) == 1)
        kept = np.setdiff1d(np.arange(20), frames)
        np.testing.assert_array_equal(example[:, kept], original[:, kept])


def test_zero_width_masks_change_nothing():
    features = random_features((2, 8, 12))
    out = feature_ops.frequency_mask(tf.constant(features), SEED, width=(0.0, 0.0)).numpy()
    np.testing.assert_array_equal(out, features)


@pytest.mark.parametrize("shift, frames", [(0.25, 2), (-0.25, -2)])
def test_time_shift_rolls_frames_by_the_stated_fraction(shift, frames):
    features = random_features((2, 3, 8))
    out = feature_ops.time_shift(tf.constant(features), SEED, shift=(shift, shift)).numpy()
    np.testing.assert_array_equal(out, np.roll(features, frames, axis=2))


def test_time_stretch_moves_an_event_by_the_rate_and_fills_the_end_with_the_mean():
    features = np.zeros((2, 3, 24), np.float32)
    features[:, :, 8] = 1.0
    slowed = feature_ops.time_stretch(tf.constant(features), SEED, rate=(0.5, 0.5)).numpy()
    assert np.all(np.argmax(slowed, axis=2) == 16)
    sped_up = feature_ops.time_stretch(tf.constant(features), SEED, rate=(2.0, 2.0)).numpy()
    assert np.all(np.argmax(sped_up, axis=2) == 4)
    # Output frames 12.. read past the input's last frame (23): the clip mean.
    np.testing.assert_allclose(sped_up[:, :, 12:], features.mean())
    assert sped_up.shape == features.shape


def test_chroma_roll_matches_the_chroma_of_a_tone_two_semitones_higher():
    chroma = [
        librosa.feature.chroma_stft(y=tone(frequency, 0.5), sr=16000, n_fft=2048)
        for frequency in (440.0, 440.0 * 2 ** (2 / 12))
    ]
    rolled = feature_ops.pitch_class_roll(tf.constant(chroma[:1]), SEED, semitones=(2, 2))
    assert np.argmax(chroma[0].mean(axis=1)) == 9  # A
    np.testing.assert_array_equal(
        np.argmax(rolled.numpy()[0], axis=0), np.argmax(chroma[1], axis=0)
    )


@pytest.mark.parametrize("semitones", [1, -2, 5])
def test_tonnetz_rotation_equals_the_tonnetz_of_the_transposed_chroma(semitones):
    chroma = np.random.default_rng(semitones % 7).random((12, 5)).astype(np.float32)
    expected = librosa.feature.tonnetz(chroma=np.roll(chroma, semitones, axis=0))
    original = librosa.feature.tonnetz(chroma=chroma)[np.newaxis].astype(np.float32)
    out = feature_ops.tonnetz_rotation(tf.constant(original), SEED, (semitones, semitones))
    np.testing.assert_allclose(out.numpy()[0], expected, atol=1e-5)


def test_tonal_ops_reject_the_wrong_number_of_bins():
    with pytest.raises(KserFeatureError, match="n_bins=7"):
        feature_ops.pitch_class_roll(tf.zeros([2, 7, 4]), SEED)
    with pytest.raises(KserFeatureError, match="n_bins=12"):
        feature_ops.tonnetz_rotation(tf.zeros([2, 12, 4]), SEED)


def test_amplitude_modulation_adds_a_sinusoidal_envelope_of_the_stated_depth_and_rate():
    features = random_features((2, 3, 64))
    out = feature_ops.amplitude_modulation(
        tf.constant(features), SEED, depth=(0.3, 0.3), cycles=(2.0, 2.0)
    ).numpy()
    envelope = out - features
    np.testing.assert_allclose(envelope, np.repeat(envelope[:, :1], 3, axis=1), atol=1e-6)
    spectrum = np.abs(np.fft.rfft(envelope[:, 0], axis=-1)) * 2 / 64
    assert np.all(np.argmax(spectrum, axis=-1) == 2)
    np.testing.assert_allclose(spectrum[:, 2], 0.3, atol=1e-4)
