"""`python -m experiments.adversarial --smoke` on the synthetic corpus (default model only:
the ResNet's smoke run costs minutes of CPU)."""

from __future__ import annotations

import json

from experiments import adversarial
from tests.helpers import make_nemo_directory


def test_smoke_run_trains_clean_and_adversarial_models_and_writes_the_table(tmp_path, capsys):
    data = make_nemo_directory(tmp_path / "nemo")
    out = tmp_path / "run"
    argv = ["--data", str(data), "--out", str(out), "--smoke", "--no-mlflow", "--models",
            "default", "--eps", "0.1,1", "--pgd-steps", "2"]  # fmt: skip
    assert adversarial.main(argv) == 0
    table = json.loads((out / "adversarial.json").read_text())
    clean, robust = table["rows"]
    assert (clean["training"], robust["training"]) == ("clean", f"fgsm:{clean['eps_star']:g}")
    assert clean["eps_star"] in (0.1, 1.0)
    robust_run = f"default-fgsm{clean['eps_star']:g}"
    bundle = json.loads((out / robust_run / "bundle" / "bundle.json").read_text())
    assert bundle["training"]["adversarial_training"] == robust["training"]
    for run in ("default-clean", robust_run):
        summary = json.loads((out / run / "attack" / "attack.json").read_text())
        metrics = json.loads((out / run / "metrics.json").read_text())
        # Attack scores are without speaker adaptation: the report's unadapted UAR.
        assert summary["clean"]["uar"] == metrics["metadata"]["uar_without_speaker_adaptation"]
        assert [p["method"] for p in summary["attacks"]] == ["fgsm", "fgsm", "pgd", "pgd"]
    assert (out / "adversarial_curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "target" in capsys.readouterr().out
    # Rerunning reuses both trained runs.
    assert adversarial.main(argv) == 0
    assert capsys.readouterr().out.count("not rerun") == 2
