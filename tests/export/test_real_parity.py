"""ONNX against Keras on real nEMO clips: every architecture on its usual input, the ensemble."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest

from kser import features
from kser.data import load_corpus
from kser.data.audio import load_clip
from kser.export import deployment_model, to_onnx
from kser.features.normalization import Normalizer
from kser.models import WeightedEnsemble, build_model

pytestmark = pytest.mark.real

PARITY = 1e-4
CLIP_SECONDS = 1.0
# (model, input, constructor arguments): tiny widths, inputs as kser trains them.
ARCHITECTURES = (
    ("audio_resnet", "mel", {"width": 0.125}),
    ("vgg16", "mel", {"width": 0.0625, "head_units": 8}),
    ("cnn3", "mel", {"width": 0.25}),
    ("conv1d", "mel", {}),
    ("conv1d", "waveform", {}),
    ("parallel_conv_bilstm", "mel", {"conv_filters": (8, 16), "lstm_units": 8}),
    ("linear", "functionals", {}),
    ("kernel", "prosody", {"features": 32}),
    ("prosody_fusion", "functionals", {"hidden_units": 8}),
)


@pytest.fixture(scope="module")
def real_inputs(nemo_dir):
    """Normalized features of 12 real clips (2 per emotion), per input name."""
    corpus = load_corpus(nemo_dir, verbose=False)
    manifest = corpus.manifest.groupby("emotion").head(2)
    clips = np.stack([load_clip(path, 16000, CLIP_SECONDS) for path in manifest["path"]])
    inputs = {}
    for name in ("mel", "functionals", "prosody"):
        raw = features.get(name).__call__(clips).numpy()
        inputs[name] = Normalizer("clip" if name == "mel" else "speaker").transform(
            raw, manifest["speaker"].to_numpy()
        )
    inputs["waveform"] = clips
    return inputs


def _onnx_outputs(model, feeds, path):
    to_onnx(model, path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


@pytest.mark.parametrize("architecture", ARCHITECTURES, ids=lambda a: f"{a[0]}-{a[1]}")
def test_every_architecture_matches_keras_on_real_clips(architecture, real_inputs, tmp_path):
    name, feature, arguments = architecture
    x = real_inputs[feature]
    model = build_model(name, x.shape[1:], num_classes=6, **arguments)
    deployment = deployment_model(model, "embedding" if name != "linear" else "input")
    actual = _onnx_outputs(deployment, {"features": x}, tmp_path / "model.onnx")
    expected = deployment.predict(x, verbose=0)
    for output, values in actual.items():
        assert np.max(np.abs(values - expected[output])) <= PARITY, output
    probabilities = actual["probabilities"]
    np.testing.assert_array_equal(
        probabilities.argmax(axis=1), expected["probabilities"].argmax(axis=1)
    )


def test_the_ensemble_matches_keras_on_real_clips(real_inputs, tmp_path):
    members = [
        build_model("cnn3", real_inputs["mel"].shape[1:], width=0.25),
        build_model("kernel", real_inputs["prosody"].shape[1:], features=32),
        build_model("prosody_fusion", real_inputs["functionals"].shape[1:], hidden_units=8),
    ]
    ensemble = WeightedEnsemble(members, ["mel", "prosody", "functionals"])
    ensemble.combiner.set_temperature(1.3)
    feeds = {key: real_inputs[key] for key in ("mel", "prosody", "functionals")}
    deployment = deployment_model(ensemble, "members")
    actual = _onnx_outputs(deployment, feeds, tmp_path / "ensemble.onnx")
    expected = deployment.predict(feeds, verbose=0)
    assert sorted(actual) == sorted(expected)
    for output, values in actual.items():
        assert np.max(np.abs(values - expected[output])) <= PARITY, output
