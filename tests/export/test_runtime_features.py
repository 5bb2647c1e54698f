"""kser.runtime.features: numpy features against the TensorFlow extractors, and the exported
default bundle served with TensorFlow, Keras and librosa blocked from import."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from kser import features
from kser.errors import KserBundleError
from kser.export import export_bundle
from kser.export.numpy_front_end import write_numpy_front_end
from kser.features.normalization import Normalizer
from kser.models import build_model
from kser.runtime import load_exported
from kser.runtime.features import load_numpy_extractor
from kser.speakers.adaptation import SpeakerAdaptation
from kser.training import Bundle, seed_everything
from tests.export.helpers import LABELS
from tests.export.test_runtime import _runtime
from tests.helpers import write_audio

SECONDS = 1.0
# Every extractor numpy covers, with parameters away from the defaults where they matter.
NUMPY_FEATURES = {
    "mel": {},
    "stft": {},
    "mfcc": {"n_mfcc": 20},
    "delta_mfcc": {},
    "contrast": {},
    "zcr": {},
    "rms": {},
    "cqt": {},
    "chroma": {},
    "tonnetz": {},
    "pitch": {"fmin": 80.0},
    "prosody": {},
    "functionals": {},
    "mfcc_functionals": {"statistics": ["mean", "p90"], "active_threshold": None},
}


def voiced_clips(seconds=SECONDS, sample_rate=16000, seed=0):
    """Two clips sound from start to end: a gliding harmonic voice with a noise burst,
    and a steady low voice under noise (no digital silence: see `test_real_...`)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    glide = 2 * np.pi * np.cumsum(160 + 80 * t) / sample_rate
    first = sum(0.3 / k * np.sin(k * glide) for k in range(1, 8)) * (0.6 + 0.4 * np.sin(7 * t))
    first[len(t) // 2 : len(t) // 2 + 1600] += 0.2 * rng.standard_normal(1600)
    second = sum(0.2 / k * np.sin(2 * np.pi * 110 * k * t) for k in range(1, 5))
    second += 0.02 * rng.standard_normal(len(t))
    return np.stack([first, second]).astype(np.float32)


def numpy_twin(extractor, path):
    write_numpy_front_end(extractor, path)
    return load_numpy_extractor(path)


@pytest.mark.parametrize("name", sorted(NUMPY_FEATURES))
def test_each_numpy_feature_matches_its_tensorflow_extractor(name, tmp_path):
    extractor = features.get(name, **NUMPY_FEATURES[name])
    waves = voiced_clips()
    expected = np.asarray(extractor(waves))
    actual = numpy_twin(extractor, tmp_path / f"{name}.npz")(waves)
    assert actual.dtype == np.float32 and actual.shape == expected.shape
    # Per value: float32 rounding of its own magnitude, or of the feature's range.
    tolerance = 1e-4 * np.abs(expected) + 2e-5 * np.ptp(expected)
    worst = np.max(np.abs(actual - expected) - tolerance)
    assert worst <= 0, f"{name}: beyond tolerance by {worst:.3g}"


def test_a_corrupted_or_incomplete_numpy_front_end_names_the_file(tmp_path):
    path = tmp_path / "features.mel.npz"
    write_numpy_front_end(features.get("mel", n_mels=16), path)
    with zipfile.ZipFile(path) as archive:
        kept = {name: archive.read(name) for name in archive.namelist() if "filters" not in name}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in kept.items():
            archive.writestr(name, data)
    with pytest.raises(KserBundleError, match=r"features\.mel\.npz.*'filters'.*missing"):
        load_numpy_extractor(path)
    path.write_bytes(b"not an npz")
    with pytest.raises(KserBundleError, match=r"features\.mel\.npz.*corrupted"):
        load_numpy_extractor(path)


def make_default_bundle(seed=0) -> Bundle:
    """kser's default model shape on 1 s clips: prosody fusion on the default functionals,
    normalized per speaker, adapted on its input, untrained."""
    extractor = features.get("functionals")
    seed_everything(seed)
    model = build_model("prosody_fusion", (extractor.n_bins, 1), num_classes=6)
    rng = np.random.default_rng(seed)
    normalizer = Normalizer("speaker+global").fit(
        rng.normal(size=(8, extractor.n_bins, 1)), np.repeat(["a", "b"], 4)
    )
    return Bundle(
        model=model,
        extractors=extractor,
        normalizers=normalizer,
        labels=LABELS,
        clip_seconds=SECONDS,
        info={"speaker_adaptation": SpeakerAdaptation(neighbours=3, graph="input").to_dict()},
    )


@pytest.fixture(scope="module")
def exported_default(tmp_path_factory):
    bundle = make_default_bundle()
    return bundle, export_bundle(bundle, tmp_path_factory.mktemp("export") / "default")


@pytest.fixture(scope="module")
def voiced_audio(tmp_path_factory):
    """Three files that sound for the whole clip (one longer, one at 24 kHz)."""
    directory = tmp_path_factory.mktemp("voiced")
    clips = voiced_clips(seconds=1.6)
    return [
        write_audio(directory / "long.wav", clips[0]),
        write_audio(directory / "low.wav", clips[1, :16000]),
        write_audio(
            directory / "resampled.wav",
            voiced_clips(seconds=1.0, sample_rate=24000, seed=1)[0],
            24000,
        ),
    ]


def test_the_default_bundle_exports_its_features_to_numpy(exported_default):
    front_end = json.loads((exported_default[1] / "export.json").read_text())["inputs"]
    (described,) = front_end.values()
    assert described["front_end"]["runs_in"] == "numpy"
    assert described["front_end"]["file"] == "features.features.npz"
    assert "RFFT" in described["front_end"]["not_in_onnx"]


@pytest.mark.parametrize("interface", ["api", "cli"])
def test_the_exported_default_bundle_predicts_without_tensorflow_keras_or_librosa(
    exported_default, voiced_audio, interface
):
    bundle, directory = exported_default
    block = ["--cli"] if interface == "cli" else []
    result = _runtime("tensorflow,keras,librosa", directory, voiced_audio, block)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["loaded"] == []
    expected = [p.probabilities for p in bundle.predict_files(voiced_audio)]
    assert np.max(np.abs(np.array(output["probabilities"]) - expected)) <= 1e-4


def test_an_export_from_another_feature_code_version_is_refused(exported_default, tmp_path):
    import shutil

    directory = shutil.copytree(exported_default[1], tmp_path / "copy")
    description = json.loads((directory / "export.json").read_text())
    (described,) = description["inputs"].values()
    described["feature"]["code_version"] = "0"
    (directory / "export.json").write_text(json.dumps(description))
    with pytest.raises(KserBundleError, match=r"features\.features\.npz.*code version '0'"):
        load_exported(directory)


@pytest.mark.real
def test_real_clips_match_the_tensorflow_default_functionals(nemo_dir, tmp_path):
    """On nEMO clips, every value within 1e-3 of its std over the clips, except the
    chroma and tonnetz statistics over all frames of clips padded with digital silence:
    there the TensorFlow CQT holds float32 FFT rounding noise that chroma's per-frame
    normalisation blows up, and numpy's float64 noise differs (docs/deploy.md)."""
    import soundfile

    from kser.data.audio import load_clip

    paths = sorted(nemo_dir.rglob("*.flac"))
    long = [p for p in paths if soundfile.info(p).duration > 3.2][:4]
    short = [p for p in paths if soundfile.info(p).duration < 2.5][:4]
    waves = np.stack([load_clip(p, 16000, 3.0) for p in long + short])
    extractor = features.get("functionals")
    expected = np.asarray(extractor(waves))[..., 0]
    actual = numpy_twin(extractor, tmp_path / "functionals.npz")(waves)[..., 0]
    spread = expected.std(axis=0)
    in_stds = np.abs(actual - expected) / np.where(spread > 0, spread, 1.0)
    noisy = np.array(
        [
            n.split()[0] in ("chroma", "tonnetz") and "(active)" not in n
            for n in extractor.value_names()
        ]
    )
    assert in_stds[: len(long)].max() <= 1e-3
    assert in_stds[:, ~noisy].max() <= 1e-3


def test_a_command_that_needs_tensorflow_says_which_extra_to_install(tmp_path):
    import os
    import subprocess
    import sys

    from tests.helpers import REPO_ROOT

    result = subprocess.run(
        [sys.executable, "-m", "tests.export.runtime_checks", "--block", "tensorflow,keras"]
        + ["--kser", "train", "--data", str(tmp_path), "--out", str(tmp_path / "run")],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("kser train: error:") and "pip install 'kser[train]'" in line
