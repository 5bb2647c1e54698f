"""The quickstart: its smoke run on real nEMO produces the full report and a usable bundle."""

from __future__ import annotations

import json

import pytest

from experiments import quickstart
from experiments.common import smoke_subset
from kser.data import load_corpus
from kser.training import load_bundle
from tests.helpers import make_nemo_directory


def test_the_smoke_subset_keeps_every_speaker_and_emotion(tmp_path):
    corpus = load_corpus(make_nemo_directory(tmp_path, clips_per_emotion=3), verbose=False)
    subset = smoke_subset(corpus, per_group=2)
    counts = subset.manifest.groupby(["speaker", "emotion"]).size()
    assert len(counts) == 7 * 6 and set(counts) == {2}


@pytest.mark.real
def test_smoke_run_on_nemo_writes_the_report(nemo_dir, tmp_path, capsys):
    out = tmp_path / "run"
    store = f"sqlite:///{tmp_path / 'mlruns.db'}"
    assert quickstart.main(["--data", str(nemo_dir), "--smoke", "--out", str(out),
                            "--mlflow-uri", store]) == 0  # fmt: skip
    for name in ("report.md", "report.html", "confusion.png", "predictions.csv", "split.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["uar"] <= 1.0
    assert set(metrics["per_class"]) == {
        "anger", "fear", "happiness", "neutral", "sadness", "surprised"
    }  # fmt: skip
    assert metrics["metadata"]["protocol"] == "speaker"
    assert (
        load_bundle(out).info["split"]["test_speakers"]
        == metrics["metadata"]["split"]["test_speakers"]
    )
    assert "UAR" in capsys.readouterr().out
