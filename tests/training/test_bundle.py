"""Bundles: save/load round trip, completeness and version checks, windowed prediction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kser.errors import KserBundleError, KserDataError
from kser.inference.bundle import MODEL_FILE, normalizer_file
from kser.training import load_bundle, save_bundle
from tests.helpers import tone, write_audio
from tests.training.helpers import make_bundle


def _waves(seconds, count=3):
    return [tone(220.0 * (k + 1), seconds) for k in range(count)]


def test_a_loaded_bundle_predicts_what_the_saved_one_did(saved_bundle):
    bundle, directory = saved_bundle
    loaded = load_bundle(directory)
    waves = _waves(0.8)
    expected = bundle.predict_waveforms(waves)
    assert expected.shape == (3, 6)
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(loaded.predict_waveforms(waves), expected, rtol=1e-5, atol=1e-6)
    assert loaded.labels == bundle.labels
    assert loaded.sample_rate == 16000 and loaded.clip_seconds == 1.0
    assert loaded.extractor.params == bundle.extractor.params
    np.testing.assert_array_equal(loaded.normalizer.mean, bundle.normalizer.mean)
    assert loaded.info["model"] == {"name": "cnn3", "params": {"width": 0.125}}


def test_saving_again_replaces_the_bundle_and_leaves_no_temporary_files(saved_bundle, tmp_path):
    bundle, directory = saved_bundle
    bundle.info["note"] = "second"
    save_bundle(bundle, directory)
    assert load_bundle(directory).info["note"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_a_run_directory_resolves_to_its_bundle(saved_bundle, tmp_path):
    assert load_bundle(tmp_path).directory == saved_bundle[1]


@pytest.mark.parametrize("missing", [MODEL_FILE, normalizer_file("features"), "bundle.json"])
def test_an_incomplete_bundle_is_refused(saved_bundle, missing):
    directory = saved_bundle[1]
    (directory / missing).unlink()
    with pytest.raises(KserBundleError, match=str(directory)):
        load_bundle(directory)


def test_a_bundle_from_another_feature_version_is_refused(saved_bundle):
    directory = saved_bundle[1]
    description = json.loads((directory / "bundle.json").read_text())
    description["features"]["features"]["code_version"] = "0-old"
    (directory / "bundle.json").write_text(json.dumps(description))
    with pytest.raises(KserBundleError, match="feature code version '0-old'"):
        load_bundle(directory)


def test_a_damaged_model_or_missing_directory_is_refused(saved_bundle, tmp_path):
    directory = saved_bundle[1]
    with pytest.raises(KserBundleError, match="bundle not found"):
        load_bundle(tmp_path / "nowhere")
    (directory / MODEL_FILE).write_bytes(b"not a zip")
    with pytest.raises(KserBundleError, match="damaged model file"):
        load_bundle(directory)


def test_a_long_file_is_windowed_and_averaged(saved_bundle, tmp_path):
    bundle = load_bundle(saved_bundle[1])
    # 3.5 s at 22.05 kHz: resampled, then 1 s windows starting at 0, 1.5 and 2.5 s (the tail).
    wave = np.concatenate([tone(200, 1.5, 22050), tone(900, 2.0, 22050)])
    path = write_audio(tmp_path / "long.wav", wave, 22050)
    (prediction,) = bundle.predict_files([path], per_window=True)
    assert [(w.start, w.end) for w in prediction.windows] == [(0.0, 1.0), (1.5, 2.5), (2.5, 3.5)]
    window_mean = np.mean([w.probabilities for w in prediction.windows], axis=0)
    np.testing.assert_allclose(prediction.probabilities, window_mean, rtol=1e-6)
    assert prediction.emotion == bundle.labels[int(np.argmax(window_mean))]
    # The same audio passed as a waveform gives the same answer: resampling is the only difference.
    first_window = bundle.predict_waveforms([bundle_wave := _resampled(path, bundle)])[0]
    assert first_window.shape == (6,) and len(bundle_wave) == 56000


def _resampled(path, bundle):
    from kser.data import load_waveform

    return load_waveform(path, bundle.sample_rate)


def test_prediction_of_a_folder_covers_every_audio_file(saved_bundle, tmp_path):
    bundle = load_bundle(saved_bundle[1])
    write_audio(tmp_path / "audio" / "a.flac", tone(300, 0.5), 16000)
    write_audio(tmp_path / "audio" / "nested" / "b.wav", tone(500, 0.4, 8000), 8000)
    (tmp_path / "audio" / "notes.txt").write_text("not audio")
    predictions = bundle.predict_files([tmp_path / "audio"])
    assert [p.path.split("audio/")[1] for p in predictions] == ["a.flac", "nested/b.wav"]
    assert all(p.windows == [] for p in predictions)


def test_undecodable_audio_is_reported_with_its_path(saved_bundle, tmp_path):
    bundle = load_bundle(saved_bundle[1])
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(KserDataError, match="broken.wav"):
        bundle.predict_files([broken])
    with pytest.raises(KserDataError, match="missing.wav"):
        bundle.predict_files([tmp_path / "missing.wav"])


def test_inputs_are_normalized_as_one_speaker_unless_said_otherwise():
    bundle = make_bundle(normalization="speaker")
    waves = _waves(0.6, count=2)
    together = bundle.predict_waveforms(waves)
    alone = bundle.predict_waveforms(waves, speakers=[0, 1])
    with pytest.warns(UserWarning, match="only 1 window"):
        first_alone = bundle.predict_waveforms(waves[:1])
    np.testing.assert_allclose(alone[0], first_alone[0], rtol=1e-5)
    assert not np.allclose(alone, together)


def test_evaluating_on_a_corpus_scores_every_clip(saved_bundle, tiny_corpus):
    bundle = load_bundle(saved_bundle[1])
    result = bundle.evaluate(tiny_corpus)
    assert result.n == len(tiny_corpus)
    assert 0.0 <= result.uar <= 1.0
    assert set(result.per_speaker_n) == set(tiny_corpus.manifest["speaker"])
    # Whole speakers keep their normalization statistics, so their clips score the same.
    rows = np.flatnonzero(tiny_corpus.manifest["speaker"].isin(["F1", "M3"]).to_numpy())
    subset = bundle.evaluate(tiny_corpus, rows)
    np.testing.assert_allclose(subset.y_prob, result.y_prob[rows], rtol=1e-5, atol=1e-6)
