"""The voice-matched prior end to end: trained (`--variants voice`), saved, and tried on
bundles trained without it (`experiments.voice_prior`)."""

from __future__ import annotations

import json

import pytest

from experiments import clips_per_speaker, voice_prior
from kser.training import load_bundle
from tests.helpers import make_nemo_directory


# Minutes (7 LOSO folds trained, then 4 temperatures x 6 group sizes scored).
@pytest.mark.slow
def test_voice_variant_trains_saves_its_voices_and_is_scored_at_every_temperature(tmp_path):
    data = make_nemo_directory(tmp_path / "nemo")
    out = tmp_path / "run"
    assert clips_per_speaker.main(["--data", str(data), "--out", str(out), "--smoke",
                                   "--no-mlflow", "--variants", "voice"]) == 0  # fmt: skip
    table = json.loads((out / "clips_per_speaker.json").read_text())
    assert [row["variant"] for row in table["rows"]] == ["voice"]
    fold = sorted((out / "voice").glob("loso-*"))[0]
    bundle = load_bundle(fold / "bundle")
    voices = bundle.normalizer.prior.voices
    # Leave-one-speaker-out with one validation speaker: the training speakers are the voices.
    assert voices.speakers == tuple(sorted(bundle.info["split"]["train_speakers"]))
    assert fold.name.removeprefix("loso-") not in voices.speakers
    settings = json.loads((fold / "speaker_settings.json").read_text())
    chosen = settings["voice_temperature"]
    assert voices.temperature == (float("inf") if chosen == "inf" else chosen)

    scored = tmp_path / "scored"
    assert voice_prior.main(["--runs", str(out / "voice"), "--data", str(data),
                             "--out", str(scored)]) == 0  # fmt: skip
    rows = json.loads((scored / "voice_prior.json").read_text())["rows"]
    assert [row["temperature"] for row in rows] == [f"{t:g}" for t in voice_prior.TEMPERATURES]
    for row in rows:
        assert row["folds"] == 7
        assert all(0.0 <= float(row[c].split(" ± ")[0]) <= 1.0 for c in row if c[:2] == "N=")
