"""The ensemble workflow through `kser.ensemble.run_ensemble`, at smoke size: out-of-fold
bookkeeping, reports, the bundle, resuming."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kser.ensemble.members as members_module
from kser import cli
from kser.data import load_corpus, make_splits
from kser.ensemble import EnsembleConfig, ensemble_members, run_ensemble
from kser.errors import KserConfigError
from kser.training import ExperimentConfig, load_bundle

# Two tiny CNNs on small mel and MFCC images, 1 epoch of 1 s clips (experiments.ensemble --smoke).
SMOKE_MEMBERS = ensemble_members(
    "mel,mfcc",
    base=ExperimentConfig(
        model="cnn3", model_params={"width": 0.125}, epochs=1, batch_size=16, clip_seconds=1.0
    ),
    model="cnn3",
    epochs=1,
    feature_params={"mel": {"n_mels": 16}, "mfcc": {"n_mels": 16, "n_mfcc": 8}},
)
SMOKE = EnsembleConfig(SMOKE_MEMBERS, protocol="speaker", member_folds=2, max_trials=2)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One speaker-protocol run on the synthetic 7-speaker corpus, shared by this module."""
    from tests.helpers import make_nemo_directory

    root = tmp_path_factory.mktemp("ensemble")
    data = make_nemo_directory(root / "nemo")
    out = root / "run"
    summaries = run_ensemble(SMOKE, load_corpus(data, verbose=False), out, verbose=0)
    return data, out, summaries


def test_the_run_writes_the_comparison_reports_and_bundle(smoke_run):
    _, out, (returned,) = smoke_run
    summary = json.loads((out / "ensemble.json").read_text())
    assert summary == json.loads(json.dumps(returned))
    assert set(summary["members"]) == {"mel_cnn3", "mfcc_cnn3"}
    assert set(summary["weights"]) == {"mel_cnn3", "mfcc_cnn3"}
    assert summary["temperature"] > 0
    assert summary["uar_gain_over_best_member"] == pytest.approx(
        summary["ensemble"]["uar"] - summary["members"][summary["best_member"]]["uar"]
    )
    assert len(summary["out_of_fold"]["tuning"]["trials"]) == SMOKE.max_trials
    interval = summary["ensemble"]["uar_ci"]
    assert interval[0] <= summary["ensemble"]["uar"] <= interval[1]
    for name in ("weights.png", "reliability.png", "reliability_before_temperature.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG"), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ece"] == pytest.approx(summary["ece_after_temperature"])
    bundle = load_bundle(out / "ensemble")
    assert sorted(bundle.extractors) == ["mel", "mfcc"]
    assert bundle.model.mixing_weights() == pytest.approx(summary["weights"])
    # Its members adapt to each speaker, so it does too, and it was tuned on adapted scores.
    assert bundle.speaker_adaptation.graph == "members"
    assert bundle.speaker_adaptation.temperature == pytest.approx(summary["adaptation_temperature"])
    assert summary["out_of_fold"]["scored_with_speaker_adaptation"] is True


def test_out_of_fold_predictions_cover_development_speakers_only_and_never_in_fold(smoke_run):
    data, out, _ = smoke_run
    corpus = load_corpus(data, verbose=False)
    speakers = corpus.manifest["speaker"].to_numpy()
    split = make_splits(corpus, "speaker", 42)[0]
    for member in ("mel_cnn3", "mfcc_cnn3"):
        files = sorted((out / "oof" / member).glob("*.npz"))
        assert len(files) == SMOKE.member_folds
        predicted = []
        for path in files:
            with np.load(path) as stored:
                rows, trained_on = stored["rows"], stored["trained_on"]
            assert not set(speakers[rows]) & set(speakers[trained_on]), path
            predicted.append(rows)
        np.testing.assert_array_equal(
            np.sort(np.concatenate(predicted)), np.union1d(split.train, split.val)
        )


def test_kser_evaluate_and_predict_take_the_ensemble_bundle(smoke_run, tmp_path):
    data, out, _ = smoke_run
    metrics_file, predictions_file = tmp_path / "metrics.json", tmp_path / "predictions.json"
    bundle = str(out / "ensemble")
    assert cli.main(["evaluate", bundle, "--data", str(data), "--part", "all",
                     "--json", str(metrics_file)]) == 0  # fmt: skip
    assert json.loads(metrics_file.read_text())["n"] == 84
    clip = sorted((data / "samples").glob("*.flac"))[0]
    assert cli.main(["predict", bundle, str(clip), "--json", str(predictions_file)]) == 0
    (prediction,) = json.loads(predictions_file.read_text())
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_a_second_run_resumes_without_training_again(smoke_run, monkeypatch):
    data, out, _ = smoke_run
    before = json.loads((out / "ensemble.json").read_text())

    def no_training(*args, **kwargs):
        raise AssertionError("a finished member was trained again")

    monkeypatch.setattr(members_module, "run_split", no_training)
    run_ensemble(SMOKE, load_corpus(data, verbose=False), out, verbose=0)
    after = json.loads((out / "ensemble.json").read_text())
    assert after["weights"] == pytest.approx(before["weights"])
    assert after["out_of_fold"]["tuning"] == before["out_of_fold"]["tuning"]


def test_resuming_with_other_settings_is_refused(smoke_run):
    data, out, _ = smoke_run
    other = EnsembleConfig(SMOKE_MEMBERS, protocol="speaker", member_folds=2, max_trials=2, seed=7)
    with pytest.raises(KserConfigError, match="holds a run with other settings.*seed: 42 -> 7"):
        run_ensemble(other, load_corpus(data, verbose=False), out, verbose=0)
