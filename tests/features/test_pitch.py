"""The YIN pitch track and the prosodic functionals built on it."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from kser import features
from kser.data.audio import load_clip
from kser.errors import KserFeatureError
from kser.features.pitch import PROSODY_VALUES, SEMITONE_REFERENCE_HZ
from tests.helpers import tone

SAMPLE_RATE = 16000


def harmonic_tone(frequency, seconds, amplitude=0.3):
    """A voice-like tone: the fundamental and four weaker harmonics."""
    return sum(tone(k * frequency, seconds, amplitude=amplitude / k) for k in range(1, 6))


def glide(start_hz, semitones_per_second, seconds):
    """A harmonic tone whose pitch rises at a constant rate in semitones."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    frequency = start_hz * 2 ** (semitones_per_second * t / 12)
    phase = 2 * np.pi * np.cumsum(frequency) / SAMPLE_RATE
    return sum(0.3 / k * np.sin(k * phase) for k in range(1, 6)).astype(np.float32)


def semitones(hz):
    return 12 * np.log2(hz / SEMITONE_REFERENCE_HZ)


def test_pitch_of_a_harmonic_tone_is_its_fundamental_and_it_is_periodic():
    # 200 Hz: a period of exactly 80 samples, so YIN's whole-sample period is exact.
    track = features.get("pitch")(harmonic_tone(200.0, 0.5)[None]).numpy()[0]
    assert track.shape == (2, 51)
    middle = slice(10, 41)  # frames whose 64 ms window lies inside the tone
    np.testing.assert_allclose(track[0, middle], semitones(200.0), atol=1e-4)
    assert track[1, middle].max() < 0.05


def test_noise_is_aperiodic_and_silence_fully_so():
    noise = np.random.default_rng(0).normal(scale=0.1, size=8000).astype(np.float32)
    waves = np.stack([noise, np.zeros(8000, np.float32)])
    track = features.get("pitch")(waves).numpy()
    assert np.median(track[0, 1, 10:41]) > 0.5
    np.testing.assert_array_equal(track[1, 1], 1.0)
    assert np.isfinite(track).all()


@pytest.mark.real
def test_pitch_follows_librosa_yin_on_clearly_voiced_nemo_frames(nemo_dir):
    """librosa 0.11's YIN differs in its difference function (whole-frame
    autocorrelation) and refines the period by parabolic interpolation; on
    frames kser finds clearly voiced, the periods agree to about a sample."""
    stems = ("EB0_anger_1", "KD0_surprised_2", "SM0_fear_88")
    clips = np.stack([load_clip(next((nemo_dir / "samples").glob(f"{s}.*"))) for s in stems])
    tracks = features.get("pitch")(clips).numpy()
    for clip, (pitch, aperiodicity) in zip(clips, tracks, strict=True):
        reference = librosa.yin(
            clip, fmin=60, fmax=500, sr=SAMPLE_RATE, frame_length=1024, hop_length=160
        )
        ours = SAMPLE_RATE / (SEMITONE_REFERENCE_HZ * 2 ** (pitch / 12))
        clear = aperiodicity < 0.1
        assert clear.sum() > 30
        gap = np.abs(ours - SAMPLE_RATE / reference)[clear]
        assert np.median(gap) < 1.0
        assert np.mean(gap < 3) > 0.85


@pytest.fixture(scope="module")
def spoken():
    """0.8 s: a rising glide, a pause, and a 150 Hz tone: one voice with intonation."""
    pause = np.zeros(3200, np.float32)
    return np.concatenate([glide(180.0, 6.0, 0.3), pause, harmonic_tone(150.0, 0.3)])[None]


def test_prosody_values_are_numpy_statistics_of_the_voiced_pitch(spoken):
    extractor = features.get("prosody")
    values = extractor(spoken).numpy()
    assert values.shape == (1, len(PROSODY_VALUES), 1) and extractor.n_frames(12800) == 1
    np.testing.assert_allclose(
        values[0, :, 0], numpy_prosody(spoken), rtol=1e-3, atol=1e-3, err_msg="prosody"
    )
    assert features.get("prosody", **extractor.params).params == extractor.params


def numpy_prosody(wave):
    """`PROSODY_VALUES` of one `(1, n)` clip, from its kser pitch track, in numpy."""
    pitch, aperiodicity = features.get("pitch")(wave).numpy()[0]
    energy = features.get("rms")(wave).numpy()[0, 0]
    active = energy >= 0.1 * energy.max()
    voiced = active & (aperiodicity < 0.35)
    assert voiced.sum() >= 5
    tones = pitch[voiced]
    steps = np.diff(pitch)[voiced[1:] & voiced[:-1]]
    steps = steps[np.abs(steps) < 3]
    seconds = np.nonzero(voiced)[0] * 0.01
    percentiles = np.percentile(tones, [5, 10, 25, 50, 75, 90, 95])
    return np.array(
        [
            tones.mean(),
            tones.std(),
            *percentiles,
            percentiles[5] - percentiles[1],
            np.abs(steps).mean(),
            steps.std(),
            np.polyfit(seconds, tones, 1)[0],
            voiced.mean(),
            voiced.sum() / active.sum(),
            aperiodicity[active].mean(),
            aperiodicity[active].std(),
            *np.percentile(aperiodicity[active], [10, 50]),
        ]
    )


def test_prosody_measures_a_rising_glide_s_slope_and_a_monotone_s_flatness():
    rising, flat = features.get("prosody")(
        np.stack([glide(150.0, 8.0, 0.6), harmonic_tone(150.0, 0.6)])
    ).numpy()[..., 0]
    slope = PROSODY_VALUES.index("pitch_slope")
    spread = PROSODY_VALUES.index("pitch_std")
    assert rising[slope] == pytest.approx(8.0, rel=0.1)
    assert abs(flat[slope]) < 0.1 and flat[spread] < 0.05
    assert rising[spread] > 1.0


def test_prosody_of_a_silent_clip_is_finite():
    values = features.get("prosody")(np.zeros((1, 8000), np.float32)).numpy()
    assert np.isfinite(values).all()


def test_functionals_end_with_the_prosody_values(spoken):
    with_prosody = features.get("functionals", features=["mel", "rms"])
    without = features.get("functionals", features=["mel", "rms"], prosody=False)
    assert with_prosody.n_bins == without.n_bins + len(PROSODY_VALUES)
    output = with_prosody(spoken).numpy()
    np.testing.assert_allclose(output[0, : without.n_bins], without(spoken).numpy()[0], rtol=1e-6)
    np.testing.assert_allclose(
        output[0, without.n_bins :], features.get("prosody")(spoken).numpy()[0], rtol=1e-6
    )


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("pitch", {"fmin": 20.0}, "half a frame"),
        ("pitch", {"fmin": 300.0, "fmax": 200.0}, "fmin < fmax"),
        ("pitch", {"trough_threshold": 0}, "trough_threshold"),
        ("prosody", {"voicing_threshold": 1.5}, "voicing_threshold"),
        ("prosody", {"active_threshold": 0}, "active_threshold"),
        ("functionals", {"prosody": "yes"}, "prosody"),
    ],
)
def test_pitch_inputs_reject_bad_parameters(name, params, message):
    with pytest.raises(KserFeatureError, match=message):
        features.get(name, **params)


def test_pitch_and_prosody_are_model_inputs_not_representations():
    assert not {"pitch", "prosody"} & set(features.names())
