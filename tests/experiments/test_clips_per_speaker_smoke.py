"""`experiments.clips_per_speaker --smoke`: every variant's LOSO folds scored at each group size."""

from __future__ import annotations

import json

from experiments import clips_per_speaker
from tests.helpers import make_nemo_directory


def test_smoke_run_tabulates_every_variant_at_every_group_size(tmp_path):
    data = make_nemo_directory(tmp_path / "nemo")
    out = tmp_path / "run"
    # Two of the variants (each is 7 LOSO trainings): the per-speaker one and the global one.
    variants = ["default", "global"]
    assert clips_per_speaker.main(["--data", str(data), "--out", str(out), "--smoke",
                                   "--no-mlflow", "--variants", *variants]) == 0  # fmt: skip
    table = json.loads((out / "clips_per_speaker.json").read_text())
    assert [row["variant"] for row in table["rows"]] == variants
    for row in table["rows"]:
        assert row["folds"] == 7
        for column in ("N=1", "N=2", "N=5", "N=10", "N=20", "N=all"):
            mean = float(row[column].split(" ± ")[0])
            assert 0.0 <= mean <= 1.0
    assert (out / "clips_per_speaker.png").stat().st_size > 1000
