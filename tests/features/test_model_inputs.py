"""The inputs that are not representations: raw waveform, stacked representations, functionals."""

from __future__ import annotations

import numpy as np
import pytest

from kser import features
from kser.errors import KserFeatureError
from kser.features import cache
from tests.helpers import tone


@pytest.fixture(scope="module")
def waves():
    """Two 0.25 s clips at 16 kHz: a quiet tone and a louder, noisier one."""
    noise = np.random.default_rng(0).normal(scale=0.05, size=4000).astype(np.float32)
    return np.stack([tone(220.0, 0.25, amplitude=0.1), tone(440.0, 0.25) + noise])


def test_waveform_passes_the_samples_through_with_a_bin_axis(waves):
    extractor = features.get("waveform")
    output = extractor(waves).numpy()
    assert output.shape == (2, 1, 4000) and extractor.n_frames(4000) == 4000
    np.testing.assert_array_equal(output[:, 0, :], waves)
    assert features.get(extractor.name, **extractor.params).params == extractor.params


def test_waveform_refuses_a_hop():
    with pytest.raises(KserFeatureError, match="hop_length"):
        features.get("waveform", hop_length=160)


def test_stack_concatenates_the_representations_frame_by_frame(waves):
    extractor = features.get("stack", features=["zcr", "rms"])
    output = extractor(waves).numpy()
    expected = np.concatenate(
        [features.get("zcr")(waves).numpy(), features.get("rms")(waves).numpy()], axis=1
    )
    assert output.shape == (2, 2, 1 + 4000 // 160) == (2, extractor.n_bins, 26)
    np.testing.assert_array_equal(output, expected)
    # The louder clip has the higher RMS in every frame but the padded edges.
    assert (output[1, 1, 2:-2] > output[0, 1, 2:-2]).all()
    assert features.get(extractor.name, **extractor.params).params == extractor.params


def test_the_default_stack_is_kser_s_model_input_and_records_its_members(waves):
    from kser.features.stacked import DEFAULT_FEATURES

    extractor = features.get("stack")
    assert extractor.params["features"] == list(DEFAULT_FEATURES)
    assert extractor.n_bins == sum(features.get(name).n_bins for name in DEFAULT_FEATURES)
    output = extractor(waves).numpy()
    assert output.shape[:2] == (2, extractor.n_bins)
    assert np.isfinite(output).all()
    # The first rows are the log-mel spectrogram, unchanged.
    mel = features.get("mel")(waves).numpy()
    np.testing.assert_allclose(output[:, : mel.shape[1]], mel, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "names", [["zcr"], ["zcr", "zcr"], ["zcr", "loudness"], ["zcr", "waveform"], "zcr,rms"]
)
def test_stack_rejects_bad_lists(names):
    with pytest.raises(KserFeatureError, match="features"):
        features.get("stack", features=names)


def test_names_still_lists_the_13_representations_only():
    assert len(features.names()) == 13
    assert not {"waveform", "stack", "functionals", "mfcc_functionals"} & set(features.names())


def test_functionals_are_numpy_s_per_bin_statistics_of_the_frames(waves):
    extractor = features.get(
        "functionals", features=["mel", "rms"], active_threshold=None, prosody=False
    )
    frames = features.get("stack", features=["mel", "rms"])(waves).numpy()
    output = extractor(waves).numpy()
    # One column per clip: the pipeline sees 1 frame, so "speaker" normalization
    # z-scores each functional over the speaker's clips.
    assert output.shape == (2, extractor.n_bins, 1) and extractor.n_frames(4000) == 1
    assert extractor.n_bins == 11 * frames.shape[1]
    np.testing.assert_allclose(output[..., 0], numpy_functionals(frames), rtol=1e-4, atol=1e-4)
    assert features.get(extractor.name, **extractor.params).params == extractor.params


def numpy_functionals(frames):
    """The eleven statistics of `(batch, n_bins, n_frames)` frames, as numpy/scipy compute them."""
    from scipy.stats import skew

    change = np.diff(frames, axis=2)
    return np.concatenate(
        [
            frames.mean(axis=2),
            frames.std(axis=2),
            *(np.percentile(frames, q, axis=2) for q in (10, 25, 50, 75, 90)),
            skew(frames, axis=2),
            change.std(axis=2),
            np.abs(change).mean(axis=2),
            np.diff(change, axis=2).std(axis=2),
        ],
        axis=1,
    )


def test_functionals_of_active_frames_leave_out_the_quiet_ones():
    # A 0.5 s clip: loud tone, near silence, loud tone again (another pitch).
    quiet = np.full(2400, 1e-4, np.float32)
    wave = np.concatenate([tone(220.0, 0.2), quiet, tone(330.0, 0.15)])[None, :]
    extractor = features.get("functionals", features=["mel", "rms"], prosody=False)
    frames = features.get("stack", features=["mel", "rms"])(wave).numpy()
    energy = features.get("rms")(wave).numpy()[0, 0]
    active = energy >= 0.1 * energy.max()
    assert 0.3 < active.mean() < 0.9  # the silence is left out, the tones kept
    output = extractor(wave).numpy()[0, :, 0]
    n_values = 11 * frames.shape[1]
    assert extractor.n_bins == 2 * n_values + 1
    np.testing.assert_allclose(
        output[:n_values], numpy_functionals(frames)[0], rtol=1e-4, atol=1e-4
    )
    assert output[-1] == pytest.approx(active.mean())
    # Over active frames: the mean of each bin over those frames only.
    np.testing.assert_allclose(
        output[n_values : n_values + frames.shape[1]],
        frames[0][:, active].mean(axis=1),
        rtol=1e-4,
        atol=1e-4,
    )
    # The median of the active frames (none of them silent) is above the all-frame median.
    rms_row = frames.shape[1] - 1
    median = 4 * frames.shape[1] + rms_row
    assert output[n_values + median] > output[median]


def test_functionals_of_one_representation_keep_the_chosen_statistics_in_order(waves):
    extractor = features.get(
        "functionals",
        features="rms",
        statistics=["std", "mean"],
        active_threshold=None,
        prosody=False,
    )
    rms = features.get("rms")(waves).numpy()[:, 0]
    np.testing.assert_allclose(
        extractor(waves).numpy()[..., 0], np.stack([rms.std(1), rms.mean(1)], 1), rtol=1e-5
    )
    # A constant bin has no skewness (not NaN).
    silent = features.get("functionals", features="rms", statistics="skewness", prosody=False)
    np.testing.assert_array_equal(
        silent(np.zeros((1, 4000), np.float32)).numpy()[0, :, 0], [0, 0, 1]
    )


def test_functionals_of_one_representation_rebuild_from_their_recorded_parameters(waves):
    # A bundle rebuilds its extractor from `params`, where the one name is a list.
    extractor = features.get("functionals", features="rms", prosody=False)
    assert extractor.params["features"] == ["rms"]
    rebuilt = features.get(extractor.name, **extractor.params)
    assert rebuilt.params == extractor.params
    np.testing.assert_array_equal(rebuilt(waves).numpy(), extractor(waves).numpy())


def test_mfcc_functionals_are_the_functionals_of_the_mfccs_alone_under_their_own_name(waves):
    extractor = features.get("mfcc_functionals")
    same_values = features.get("functionals", features="mfcc", prosody=False)
    assert extractor.name == "mfcc_functionals" != same_values.name
    # 40 MFCCs x 11 statistics, over all and over active frames, and the active fraction.
    assert extractor.n_bins == 2 * 11 * 40 + 1
    np.testing.assert_allclose(extractor(waves).numpy(), same_values(waves).numpy(), rtol=1e-6)
    rebuilt = features.get(extractor.name, **extractor.params)
    assert (rebuilt.name, rebuilt.params) == (extractor.name, extractor.params)
    # Its cache is keyed apart from the same values under the other name.
    keys = [cache.cache_key(cache.key_inputs([], e, 3.0)) for e in (extractor, same_values)]
    assert keys[0] != keys[1]
    # Other representations under this name would mislead.
    for params in ({"features": "mel"}, {"features": ["mfcc", "rms"]}, {"prosody": True}):
        with pytest.raises(KserFeatureError, match="MFCCs alone"):
            features.get("mfcc_functionals", **params)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"statistics": []}, "statistics"),
        ({"statistics": ["mean", "mean"]}, "statistics"),
        ({"statistics": ["mean", "kurtosis"]}, "statistics"),
        ({"active_threshold": 1.5}, "active_threshold"),
        ({"active_threshold": 0}, "active_threshold"),
    ],
)
def test_functionals_reject_bad_parameters(params, message):
    with pytest.raises(KserFeatureError, match=message):
        features.get("functionals", **params)
