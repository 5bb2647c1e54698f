"""`python -m experiments.xai --smoke` on a tiny synthetic corpus: tables, curves, notes."""

from __future__ import annotations

import json

from experiments import xai
from kser.data.labels import EMOTIONS
from tests.helpers import make_nemo_directory


def test_xai_experiment_writes_auc_tables_curves_and_a_closing_note(tmp_path):
    data = make_nemo_directory(tmp_path / "nemo")
    out = tmp_path / "xai"
    argv = ["--data", str(data), "--out", str(out), "--smoke", "--no-mlflow"]
    assert xai.main([*argv, "--methods", "gradcam,ig,lrp"]) == 0
    table = json.loads((out / "xai.json").read_text())
    methods = {(row["model"], row["method"]) for row in table["rows"]}
    assert methods == {
        ("resnet_mel", "gradcam"), ("resnet_mel", "ig"), ("resnet_mel", "lrp"),
        ("resnet_mel", "random"), ("default", "ig"), ("default", "random"),
    }  # fmt: skip
    for row in table["rows"]:
        assert 0.0 <= row["deletion_ci"][0] <= row["deletion_auc"] <= row["deletion_ci"][1] <= 1
        assert row["clips"] == 12  # 2 per emotion
    # Prosody fusion has no feature maps, and a log-softmax LRP cannot pass.
    assert "default: " in table["note"] and "gradcam not run" in table["note"]
    assert "lrp not run" in table["note"]
    # Per class: the explained (predicted) class of each clip; its clips add up to all 12.
    per_class = json.loads((out / "xai_resnet_mel.json").read_text())["rows"]
    random_rows = [row for row in per_class if row["method"] == "random"]
    assert random_rows[0]["class"] == "all"
    assert {row["class"] for row in random_rows[1:]} <= set(EMOTIONS)
    assert sum(row["clips"] for row in random_rows[1:]) == 12
    for name in ("resnet_mel", "default"):
        assert (out / f"xai_{name}_curves.png").read_bytes().startswith(b"\x89PNG")
