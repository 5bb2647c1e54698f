"""`kser explain` end to end: a saved bundle and audio files in, PNGs, JSON and HTML out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kser import features
from kser.cli import main
from kser.features.normalization import Normalizer
from kser.models import build_model
from kser.training import Bundle, save_bundle, seed_everything
from tests.helpers import tone, write_audio
from tests.training.helpers import make_bundle

LABELS = ("anger", "fear", "happiness", "neutral", "sadness", "surprised")


@pytest.fixture
def clips(tmp_path):
    """Two 1 s clips: a low and a high tone, with a burst of noise in the second half."""
    rng = np.random.default_rng(0)
    paths = []
    for name, frequency in (("low", 300.0), ("high", 2500.0)):
        samples = tone(frequency, 1.0)
        samples[8000:] += 0.2 * rng.normal(size=8000).astype("float32")
        paths.append(write_audio(tmp_path / "audio" / f"{name}.wav", samples))
    return paths


@pytest.fixture
def frames_bundle(tmp_path):
    return save_bundle(make_bundle(), tmp_path / "cnn_bundle")


@pytest.fixture
def functionals_bundle(tmp_path):
    """A linear model on mel and RMS functionals (mean and std, both passes) with prosody."""
    extractor = features.get("functionals", features=["mel", "rms"], statistics=["mean", "std"])
    seed_everything(0)
    model = build_model("linear", (extractor.n_bins, 1), num_classes=len(LABELS))
    train = np.random.default_rng(0).normal(size=(8, extractor.n_bins, 1))
    normalizer = Normalizer("speaker+global").fit(train, np.repeat(["a", "b"], 4))
    bundle = Bundle(model, extractor, normalizer, LABELS, 1.0, {"model": {"name": "linear"}})
    return save_bundle(bundle, tmp_path / "linear_bundle")


def test_explain_writes_a_png_per_clip_and_method_json_and_html(frames_bundle, clips, tmp_path):
    out = tmp_path / "explained"
    argv = ["explain", str(frames_bundle), *map(str, clips), "--method", "gradcam,saliency,ig,lrp"]
    assert main([*argv, "-o", str(out)]) == 0
    records = json.loads((out / "explanations.json").read_text())
    assert [r["path"] for r in records] == [str(c) for c in clips]
    for record in records:
        assert record["target"] == record["emotion"]  # --target predicted
        assert sum(record["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert set(record["methods"]) == {"gradcam", "saliency", "ig", "lrp"}
        for entries in record["methods"].values():
            (entry,) = entries.values()
            assert (out / entry["png"]).read_bytes().startswith(b"\x89PNG")
            assert len(entry["top_regions"]) == 5
            assert entry["top_regions"][0]["region"].endswith("Hz")  # "0.00-0.25 s, 0-1190 Hz"
        assert record["methods"]["lrp"]["mel"]["lrp_conservation_error"] < 0.01
    page = (out / "index.html").read_text()
    assert page.count("<img") == 8 and "low.wav" in page


def test_explain_a_named_emotion_and_the_values_of_a_functionals_model(
    functionals_bundle, clips, tmp_path
):
    out = tmp_path / "values"
    argv = ["explain", str(functionals_bundle), str(clips[0]), "--target", "sadness"]
    assert main([*argv, "--method", "ig,lrp,lime,gradcam", "-o", str(out)]) == 0
    (record,) = json.loads((out / "explanations.json").read_text())
    assert record["target"] == "sadness"
    assert set(record["methods"]) == {"ig", "lrp", "lime"}
    assert "feature maps" in record["skipped"]["gradcam on functionals"]
    regions = [r["region"] for r in record["methods"]["ig"]["functionals"]["top_regions"]]
    known = {"mel mean", "mel std", "rms mean", "mel mean (active)", "active fraction"}
    assert all(r in known or r.startswith(("mel ", "rms ", "pitch ", "voiced ", "aperiodicity "))
               for r in regions)  # fmt: skip
    assert (out / record["methods"]["lime"]["functionals"]["png"]).stat().st_size > 1000


def test_bad_target_and_bad_audio_are_one_line_errors(frames_bundle, clips, tmp_path, capsys):
    out = str(tmp_path / "bad")
    assert main(["explain", str(frames_bundle), str(clips[0]), "--target", "joy", "-o", out]) == 2
    assert "--target must be 'predicted' or one of" in capsys.readouterr().err
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    assert main(["explain", str(frames_bundle), str(broken), "-o", out]) == 2
    assert "broken.wav" in capsys.readouterr().err
    assert main(["explain", str(frames_bundle), str(clips[0]), "--method", "shap", "-o", out]) == 2
    assert "methods must be among" in capsys.readouterr().err


def test_an_ensemble_is_explained_per_member_and_its_maps_add_up(clips, tmp_path):
    """IG maps of the members, weighted as the combiner mixes them, sum to the ensemble's
    logit difference between the clip and the baseline."""
    import keras

    from kser.ensemble.members import renamed
    from kser.models import WeightedEnsemble
    from kser.training import load_bundle
    from kser.xai.explainer import explain_files
    from kser.xai.report import write_explanations

    mel = features.get("mel", n_mels=16)
    values = features.get("functionals", features="rms", statistics=["mean", "std"],
                          prosody=False)  # fmt: skip
    n_frames = mel.n_frames(16000)
    seed_everything(0)
    members = [
        renamed(build_model("cnn3", (16, n_frames), width=0.125), "cnn_member"),
        renamed(build_model("linear", (values.n_bins, 1)), "linear_member"),
    ]
    ensemble = WeightedEnsemble(members, ["mel", "functionals"], temperature=2.0)
    rng = np.random.default_rng(0)
    normalizers = {
        "mel": Normalizer("global").fit(rng.normal(-40, 10, size=(8, 16, n_frames))),
        "functionals": Normalizer("global").fit(rng.normal(size=(8, values.n_bins, 1))),
    }
    bundle = Bundle(ensemble, {"mel": mel, "functionals": values}, normalizers, LABELS, 1.0, {})
    bundle = load_bundle(save_bundle(bundle, tmp_path / "ensemble"))
    explanations, parts = explain_files(bundle, clips, methods=("ig", "gradcam"))
    assert [part.name for part in parts] == ["cnn_member", "linear_member"]
    assert "gradcam on linear_member" in explanations[0].skipped
    model_inputs = {"mel": parts[0].inputs, "functionals": parts[1].inputs}
    logits = keras.ops.convert_to_numpy(ensemble(model_inputs))
    zeros = {name: np.zeros_like(x) for name, x in model_inputs.items()}
    at_baseline = keras.ops.convert_to_numpy(ensemble(zeros))
    for row, explanation in enumerate(explanations):
        total = sum(m.sum() for m in explanation.maps["ig"].values())
        target = explanation.target
        expected = logits[row, target] - at_baseline[row, target]
        assert total == pytest.approx(expected, rel=0.05, abs=0.02)
    out = write_explanations(explanations, parts, tmp_path / "out")
    assert (out / "low_ig_cnn_member.png").is_file() and (
        out / "low_ig_linear_member.png"
    ).is_file()


def test_the_command_line_parser_does_not_import_keras():
    """`kser --help` builds every command's parser: explain's must stay light."""
    import subprocess
    import sys

    from tests.helpers import REPO_ROOT

    code = (
        "import sys; from kser.cli import build_parser; build_parser(); "
        "print('keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True)  # fmt: skip
    assert result.stdout.strip() == "False"
