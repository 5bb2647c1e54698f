"""`kser attack` end to end through `kser.cli.main`, on a bundle `kser train
--adversarial-training` made from the synthetic corpus."""

from __future__ import annotations

import json

import pytest
import soundfile

from kser.adversarial.waveform import signal_to_perturbation_db
from kser.cli import main
from tests.helpers import make_nemo_directory
from tests.training.helpers import TINY_CNN


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`(corpus directory, run directory)` of a 1-epoch FGSM-trained tiny CNN on 16-band mel."""
    root = tmp_path_factory.mktemp("attack")
    data = make_nemo_directory(root / "nemo")
    out = root / "run"
    code = main(
        ["train", "--data", str(data), "--model", "cnn3", "--epochs", "1", "--batch-size", "8",
         "--no-mlflow", "--feature", "mel", "--feature-param", "n_mels=16",
         "--model-param", f"width={TINY_CNN['width']}", "--adversarial-training", "fgsm:0.1",
         "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    return data, out


def test_train_records_its_adversarial_training(trained):
    _, out = trained
    description = json.loads((out / "bundle" / "bundle.json").read_text())
    assert description["training"]["adversarial_training"] == "fgsm:0.1"


def test_feature_attack_starts_at_kser_evaluate_and_writes_its_report(trained, tmp_path):
    data, run = trained
    out = tmp_path / "attack"
    code = main(
        ["attack", str(run), "--data", str(data), "--method", "fgsm,pgd", "--steps", "3",
         "--eps", "0.3,0.03", "--examples", "2", "-o", str(out), "--json", str(tmp_path / "a.json")]
    )  # fmt: skip
    assert code == 0
    assert main(
        ["evaluate", str(run), "--data", str(data), "--part", "test", "--no-speaker-adaptation",
         "--json", str(tmp_path / "evaluate.json")]
    ) == 0  # fmt: skip
    summary = json.loads((out / "attack.json").read_text())
    assert summary == json.loads((tmp_path / "a.json").read_text())
    evaluated = json.loads((tmp_path / "evaluate.json").read_text())
    for key in ("uar", "accuracy", "macro_f1"):
        assert summary["clean"][key] == evaluated[key]
    assert summary["n_clips"] == evaluated["n"]
    attacks = [(p["method"], p["eps"]) for p in summary["attacks"]]
    assert attacks == [("fgsm", 0.03), ("fgsm", 0.3), ("pgd", 0.03), ("pgd", 0.3)]
    for point in summary["attacks"]:
        if point["method"] == "fgsm":
            assert point["linf"] == pytest.approx(point["eps"], rel=1e-4)
        assert point["linf"] <= point["eps"] * (1 + 1e-4)
        assert point["mean_loss"] > summary["clean"]["mean_loss"]
    assert set(summary["halving_eps"]) == {"fgsm", "pgd"}
    assert isinstance(summary["pgd_at_least_as_strong"], bool)
    assert summary["pgd_loss_at_least_as_high"] is True  # PGD maximizes the loss
    for figure in ("curves.png", "perturbation.png"):
        assert (out / figure).read_bytes()[:4] == b"\x89PNG"
    # Griffin-Lim of the two clips: clean, and each attack; its own error is stated.
    reconstruction = summary["griffin_lim"]
    assert len(reconstruction["clips"]) == 2 and len(reconstruction["attacks"]) == 4
    assert 0 < reconstruction["clean"]["feature_error_db"] < 40
    assert len(list((out / "audio").glob("griffin-lim-*.wav"))) == 2 * 5
    audio, rate = soundfile.read(next((out / "audio").glob("griffin-lim-clean-*.wav")))
    assert rate == 16000 and len(audio) == 3 * 16000


def test_waveform_attack_reports_the_snr_of_the_audio_it_writes(trained, tmp_path):
    data, run = trained
    out = tmp_path / "attack"
    code = main(
        ["attack", str(run), "--data", str(data), "--domain", "waveform", "--eps", "0.001",
         "--examples", "2", "-o", str(out)]
    )  # fmt: skip
    assert code == 0
    summary = json.loads((out / "attack.json").read_text())
    (point,) = summary["attacks"]
    assert point["eps_dbfs"] == pytest.approx(-60.0)
    assert point["linf"] <= 0.001 * (1 + 1e-4)
    assert summary["eps_units"] == "sample amplitude, full scale 1.0"
    for name, reported in point["example_snr_db"].items():
        clean, _ = soundfile.read(out / "audio" / f"clean-{name}.wav", dtype="float32")
        attacked, _ = soundfile.read(out / "audio" / f"fgsm-eps0.001-{name}.wav", dtype="float32")
        measured = signal_to_perturbation_db(clean[None], attacked[None])[0]
        assert measured == pytest.approx(reported, abs=1e-3)
        assert 20 < measured < 80


def test_bad_eps_is_a_one_line_error(trained, capsys):
    data, run = trained
    assert main(["attack", str(run), "--data", str(data), "--eps", "0.1,-2"]) == 2
    assert "--eps values must be positive" in capsys.readouterr().err
    assert main(["attack", str(run), "--data", str(data), "--method", "cw"]) == 2
    assert "method must be one of" in capsys.readouterr().err
