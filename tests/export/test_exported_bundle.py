"""Exported directories: parity with the Keras bundle from waveforms, metadata, INT8, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest

from kser import features
from kser.errors import KserBundleError
from kser.export import calibration_features, export_bundle
from kser.export.frontend import FrontEndError, front_end_function
from kser.runtime import load_exported
from kser.runtime.layout import EXPORT_FILE, MODEL_FILE, front_end_file
from tests.helpers import tone

PARITY = 1e-4


def _speech_like_waves(count=6, seconds=1.0, seed=0):
    """Harmonic tones with noise, of several pitches and lengths (some padded, one windowed)."""
    rng = np.random.default_rng(seed)
    waves = []
    for k in range(count):
        wave = sum(
            tone(140.0 * (1 + 0.2 * k) * h, seconds * (0.6 + 0.3 * k), amplitude=0.3 / h)
            for h in (1, 2, 3)
        )
        waves.append((wave + 0.01 * rng.standard_normal(len(wave))).astype(np.float32))
    return waves


@pytest.mark.parametrize("name", ["mel", "stft", "rms", "zcr"])
def test_spectral_front_ends_run_in_onnx_like_the_tensorflow_extractor(name, tmp_path):
    import onnxruntime
    import tf2onnx

    extractor = features.get(name, **({"n_mels": 16} if name == "mel" else {}))
    function, signature = front_end_function(extractor, 16000)
    path = tmp_path / "features.onnx"
    tf2onnx.convert.from_function(
        function, input_signature=(signature,), opset=17, output_path=str(path)
    )
    waves = np.stack(
        [
            w[:16000] if len(w) >= 16000 else np.pad(w, (0, 16000 - len(w)))
            for w in _speech_like_waves(3)
        ]
    )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    actual = session.run(None, {"waveform": waves})[0]
    expected = extractor(waves).numpy()
    assert actual.shape == expected.shape
    # dB: float32 rounding of a matmul DFT against the FFT, largest in the weakest bins;
    # the bounds of kser's extractors against librosa (tests/features/test_parity.py).
    tolerance = {"mel": 0.01, "stft": 0.05}.get(name, 1e-5)
    assert np.max(np.abs(actual - expected)) < tolerance


def test_features_with_complex_ffts_are_refused_naming_the_op():
    with pytest.raises(FrontEndError, match="'pitch'.*RFFT"):
        front_end_function(features.get("pitch"), 16000)


def test_an_exported_cnn_runs_from_waveform_like_the_keras_bundle(exported_mel):
    bundle, directory = exported_mel
    exported = load_exported(directory)
    info = json.loads((directory / EXPORT_FILE).read_text())
    assert info["inputs"]["features"]["front_end"]["runs_in"] == "onnx"
    assert (directory / front_end_file("features")).is_file()
    waves = _speech_like_waves()
    speakers = np.array([0, 0, 0, 1, 1, 1])
    for adapted in (bundle, bundle.with_speaker_adaptation(None)):
        runtime = exported.with_speaker_adaptation(adapted.speaker_adaptation)
        expected = adapted.predict_waveforms(waves, speakers)
        actual = runtime.predict_waveforms(waves, speakers)
        assert np.max(np.abs(actual - expected)) <= PARITY
        np.testing.assert_array_equal(actual.argmax(axis=1), expected.argmax(axis=1))


def test_the_graph_carries_its_description_in_metadata_props(exported_mel):
    bundle, directory = exported_mel
    metadata = {p.key: p.value for p in onnx.load(directory / MODEL_FILE).metadata_props}
    assert json.loads(metadata["labels"]) == list(bundle.labels)
    assert float(metadata["clip_seconds"]) == bundle.clip_seconds
    description = json.loads(metadata["kser"])
    assert description["inputs"]["features"]["feature"]["params"] == bundle.extractor.params
    assert description["speaker_adaptation"]["graph"] == "embedding"
    assert description["inputs"]["features"]["normalization"] == "speaker+global"
    assert description["kser_version"] == metadata["kser_version"]


def test_an_exported_ensemble_is_one_graph_adapting_on_its_members(exported_ensemble):
    bundle, directory = exported_ensemble
    exported = load_exported(directory)
    graph = onnx.load(directory / MODEL_FILE)
    assert sorted(i.name for i in graph.graph.input) == ["mel", "rms"]
    cnn = bundle.model.members[0].name
    assert sorted(o.name for o in graph.graph.output) == [f"embedding/{cnn}", "probabilities"]
    waves = _speech_like_waves()
    speakers = np.array([0, 0, 0, 1, 1, 1])
    expected = bundle.predict_waveforms(waves, speakers)
    actual = exported.predict_waveforms(waves, speakers)
    assert np.max(np.abs(actual - expected)) <= PARITY
    np.testing.assert_array_equal(actual.argmax(axis=1), expected.argmax(axis=1))


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_int8_graphs_hold_int8_weights_and_stay_close(mode, mel_bundle, tiny_corpus, tmp_path):
    waves = _speech_like_waves()
    calibration = None
    if mode == "static":
        calibration = calibration_features(mel_bundle, tiny_corpus, np.arange(len(tiny_corpus)))
        assert calibration["features"].shape[1:] == mel_bundle.model.inputs[0].shape[1:]
        # Calibrated on clips like those it is checked on, as on training clips in use.
        clips = np.stack([np.resize(wave, mel_bundle.clip_samples) for wave in waves])
        own = mel_bundle.normalizer.transform(mel_bundle._extract(clips), np.zeros(len(clips)))
        calibration["features"] = np.concatenate([calibration["features"], own])
    directory = export_bundle(
        mel_bundle, tmp_path / mode, quantization=mode, calibration=calibration
    )
    graph = onnx.load(directory / MODEL_FILE)
    int8 = [t for t in graph.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert int8, "no int8 weights"
    ops = {node.op_type for node in graph.graph.node}
    assert (
        ("DequantizeLinear" in ops)
        if mode == "static"
        else ops & {"ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"}
    )
    fp32 = mel_bundle.with_speaker_adaptation(None).predict_waveforms(waves)
    int8_probabilities = (
        load_exported(directory).with_speaker_adaptation(None).predict_waveforms(waves)
    )
    assert np.max(np.abs(int8_probabilities - fp32)) < 0.1


def test_static_quantization_without_calibration_is_refused(mel_bundle, tmp_path):
    with pytest.raises(KserBundleError, match="calibration"):
        export_bundle(mel_bundle, tmp_path / "static", quantization="static")
    assert not (tmp_path / "static").exists()


def test_a_corrupted_graph_is_refused_naming_the_file(exported_mel, tmp_path):
    directory = shutil.copytree(exported_mel[1], tmp_path / "copy")
    data = (directory / MODEL_FILE).read_bytes()
    (directory / MODEL_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(KserBundleError, match=f"{directory / MODEL_FILE}.*corrupted"):
        load_exported(directory)


def test_an_export_of_another_format_version_is_refused(exported_mel, tmp_path):
    directory = shutil.copytree(exported_mel[1], tmp_path / "copy")
    info = json.loads((directory / EXPORT_FILE).read_text())
    info.update(format="kser-onnx/2", kser_version="9.0.0")
    (directory / EXPORT_FILE).write_text(json.dumps(info))
    with pytest.raises(
        KserBundleError, match=r"export.json: format 'kser-onnx/2' \(made by kser 9.0.0\)"
    ):
        load_exported(directory)


def test_a_graph_from_another_export_is_refused(exported_mel, exported_ensemble, tmp_path):
    directory = shutil.copytree(exported_mel[1], tmp_path / "copy")
    info = json.loads((directory / EXPORT_FILE).read_text())
    info["labels"] = ["calm", "excited", "a", "b", "c", "d"]
    (directory / EXPORT_FILE).write_text(json.dumps(info))
    with pytest.raises(KserBundleError, match="another export"):
        load_exported(directory)


def test_a_missing_normalizer_is_refused(exported_mel, tmp_path):
    directory = shutil.copytree(exported_mel[1], tmp_path / "copy")
    (directory / "normalizer.json").unlink()
    with pytest.raises(KserBundleError, match="normalizer.json is missing"):
        load_exported(directory)


@pytest.mark.parametrize("optimisation", ["none", "ort"])
def test_graph_optimisations_keep_the_predictions(optimisation, exported_mel, tmp_path):
    bundle, slim_directory = exported_mel
    directory = export_bundle(bundle, tmp_path / optimisation, optimisation=optimisation)
    assert json.loads((directory / EXPORT_FILE).read_text())["optimisation"] == optimisation
    waves = _speech_like_waves()
    expected = load_exported(slim_directory).predict_waveforms(waves)
    np.testing.assert_allclose(
        load_exported(directory).predict_waveforms(waves), expected, atol=1e-5
    )


def test_evaluating_an_export_scores_a_corpus_like_the_keras_bundle(exported_mel, tiny_corpus):
    bundle, directory = exported_mel
    expected = bundle.evaluate(tiny_corpus)
    actual = load_exported(directory).evaluate(tiny_corpus)
    assert actual.clip_ids == expected.clip_ids
    assert np.max(np.abs(actual.y_prob - expected.y_prob)) <= PARITY
    assert actual.uar == expected.uar


def test_speaker_adaptation_can_be_switched_on_or_off_at_load(exported_ensemble):
    bundle, directory = exported_ensemble
    assert load_exported(directory).speaker_adaptation == bundle.speaker_adaptation
    assert load_exported(directory, speaker_adaptation=False).speaker_adaptation is None
    suited = load_exported(directory, speaker_adaptation=True).speaker_adaptation
    assert suited.graph == "members" and suited.neighbours == 10
