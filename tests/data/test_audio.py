import numpy as np
import pytest

from kser.data.audio import clip_samples, fix_length, load_clip, load_waveform
from kser.errors import KserDataError
from tests.helpers import tone, write_audio


def dominant_frequency(samples, sample_rate):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return np.argmax(spectrum) * sample_rate / len(samples)


def test_24khz_tone_is_resampled_to_16khz_with_the_same_pitch(tmp_path):
    path = write_audio(tmp_path / "tone.wav", tone(440.0, 1.0, 24000), 24000)
    waveform = load_waveform(path, 16000)
    assert waveform.shape == (16000,)
    assert waveform.dtype == np.float32
    assert dominant_frequency(waveform, 16000) == pytest.approx(440.0, abs=2.0)


def test_stereo_is_downmixed_to_mono(tmp_path):
    left, right = tone(300.0, 0.5), np.zeros(8000, dtype=np.float32)
    path = write_audio(tmp_path / "stereo.flac", np.stack([left, right], axis=1))
    waveform = load_waveform(path)
    assert waveform.ndim == 1
    np.testing.assert_allclose(waveform, left / 2, atol=1e-4)


def test_fix_length_center_crop_pad_and_random_crop():
    ramp = np.arange(10, dtype=np.float32)
    np.testing.assert_array_equal(fix_length(ramp, 4), [3, 4, 5, 6])
    np.testing.assert_array_equal(fix_length(ramp[:3], 5), [0, 1, 2, 0, 0])
    crops = [fix_length(ramp, 4, "random", np.random.default_rng(7)) for _ in range(2)]
    np.testing.assert_array_equal(crops[0], crops[1])
    starts = {int(fix_length(ramp, 4, "random", np.random.default_rng(s))[0]) for s in range(40)}
    assert starts == set(range(7))
    with pytest.raises(ValueError, match="rng"):
        fix_length(ramp, 4, "random")


def test_load_clip_has_three_seconds_at_16khz(tmp_path):
    path = write_audio(tmp_path / "long.wav", tone(200.0, 5.0, 24000), 24000)
    assert load_clip(path).shape == (clip_samples(),) == (48000,)


@pytest.mark.parametrize(
    "writer, message",
    [
        (lambda p: None, "not found"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"RIFF\x00\x00garbage" * 10), "cannot decode"),
        (lambda p: write_audio(p, np.full(800, np.nan, np.float32), subtype="FLOAT"), "NaN"),
        (lambda p: write_audio(p, np.zeros(8000, np.float32)), "silent"),
    ],
    ids=["missing", "empty", "corrupt", "nan", "silence"],
)
def test_bad_audio_raises_naming_the_file(tmp_path, writer, message):
    path = tmp_path / "bad.wav"
    writer(path)
    with pytest.raises(KserDataError, match=message) as error:
        load_waveform(path)
    assert str(path) in str(error.value)
