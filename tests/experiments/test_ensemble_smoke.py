"""The ensemble experiment's smoke run: out-of-fold bookkeeping, reports, bundle, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kser.ensemble.members as members_module
from experiments import ensemble as experiment
from kser import cli
from kser.data import load_corpus, make_splits
from kser.training import load_bundle

SPEAKER_SMOKE = ["--smoke", "--protocol", "speaker"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """One smoke run on the synthetic 7-speaker corpus, shared by this module's tests."""
    from tests.conftest import make_nemo_directory

    root = tmp_path_factory.mktemp("ensemble")
    data = make_nemo_directory(root / "nemo")
    out = root / "run"
    assert experiment.main(SPEAKER_SMOKE + ["--data", str(data), "--out", str(out)]) == 0
    return data, out


def test_smoke_run_writes_the_comparison_reports_and_bundle(smoke_run):
    _, out = smoke_run
    summary = json.loads((out / "ensemble.json").read_text())
    assert set(summary["members"]) == {"mel_cnn3", "mfcc_cnn3"}
    assert set(summary["weights"]) == {"mel_cnn3", "mfcc_cnn3"}
    assert summary["temperature"] > 0
    assert summary["uar_gain_over_best_member"] == pytest.approx(
        summary["ensemble"]["uar"] - summary["members"][summary["best_member"]]["uar"]
    )
    assert len(summary["out_of_fold"]["tuning"]["trials"]) == experiment.SMOKE_TRIALS
    interval = summary["ensemble"]["uar_ci"]
    assert interval[0] <= summary["ensemble"]["uar"] <= interval[1]
    for name in ("weights.png", "reliability.png", "reliability_before_temperature.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG"), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["ece"] == pytest.approx(summary["ece_after_temperature"])
    bundle = load_bundle(out / "ensemble")
    assert sorted(bundle.extractor) == ["mel", "mfcc"]
    assert bundle.model.mixing_weights() == pytest.approx(summary["weights"])
    # Its members adapt to each speaker, so it does too, and it was tuned on adapted scores.
    assert bundle.speaker_adaptation.graph == "members"
    assert bundle.speaker_adaptation.temperature == pytest.approx(summary["adaptation_temperature"])
    assert summary["out_of_fold"]["scored_with_speaker_adaptation"] is True


def test_out_of_fold_predictions_cover_development_speakers_only_and_never_in_fold(smoke_run):
    data, out = smoke_run
    corpus = load_corpus(data, verbose=False)
    speakers = corpus.manifest["speaker"].to_numpy()
    split = make_splits(corpus, "speaker", 42)[0]
    for member in ("mel_cnn3", "mfcc_cnn3"):
        files = sorted((out / "oof" / member).glob("*.npz"))
        assert len(files) == experiment.SMOKE_FOLDS
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
    data, out = smoke_run
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
    data, out = smoke_run
    before = json.loads((out / "ensemble.json").read_text())

    def no_training(*args, **kwargs):
        raise AssertionError("a finished member was trained again")

    monkeypatch.setattr(members_module, "run_split", no_training)
    assert experiment.main(SPEAKER_SMOKE + ["--data", str(data), "--out", str(out)]) == 0
    after = json.loads((out / "ensemble.json").read_text())
    assert after["weights"] == pytest.approx(before["weights"])
    assert after["out_of_fold"]["tuning"] == before["out_of_fold"]["tuning"]


def test_resuming_with_other_settings_is_refused(smoke_run, capsys):
    data, out = smoke_run
    with pytest.raises(SystemExit):
        experiment.main(SPEAKER_SMOKE + ["--data", str(data), "--out", str(out), "--seed", "7"])
    assert "holds a run with other settings" in capsys.readouterr().err


def test_loso_is_cross_fitted_the_test_speaker_is_never_seen(tmp_path):
    """Fold s's ensemble joins the fold-s members, tuned on the other speakers' predictions."""
    from tests.conftest import make_nemo_directory

    data = make_nemo_directory(tmp_path / "nemo")
    out = tmp_path / "run"
    folds = ["loso-F1", "loso-M1"]
    argv = ["--data", str(data), "--out", str(out), "--smoke", "--protocol", "loso"]
    assert experiment.main([*argv, "--fold", folds[0], "--fold", folds[1]]) == 0

    corpus = load_corpus(data, verbose=False)
    all_folds = [split.name for split in make_splits(corpus, "loso", 42)]
    # Every member is trained once per LOSO fold and predicts exactly that fold's speaker.
    for member in ("mel_cnn3", "mfcc_cnn3"):
        assert sorted(p.stem for p in (out / "oof" / member).glob("*.npz")) == all_folds
    for fold in folds:
        test_speaker = fold.removeprefix("loso-")
        summary = json.loads((out / fold / "ensemble.json").read_text())
        assert summary["test_speakers"] == [test_speaker]
        # The combiner was tuned on every other speaker's out-of-fold predictions.
        assert summary["out_of_fold"]["folds"] == [name for name in all_folds if name != fold]
        for member in ("mel_cnn3", "mfcc_cnn3"):
            split = json.loads((out / "members" / member / fold / "split.json").read_text())
            assert split["test_speakers"] == [test_speaker]
            assert test_speaker not in split["train_speakers"] + split["val_speakers"]
        bundle = load_bundle(out / fold / "ensemble")
        assert sorted(bundle.extractor) == ["mel", "mfcc"]
    summary = json.loads((out / "summary.json").read_text())
    assert [row["name"] for row in summary["ensemble"]["folds"]] == folds
    assert set(summary["member_mean_uar"]) == {"mel_cnn3", "mfcc_cnn3"}


def test_members_may_pair_a_feature_with_another_model():
    args = experiment.build_parser().parse_args(["--members", "functionals,mel,mel:cnn3"])
    members, _ = experiment.configure(args)
    # Without a model, a feature gets its usual architecture.
    assert [member.name for member in members] == [
        "functionals_prosody_fusion",
        "mel_conv1d",
        "mel_cnn3",
    ]
    assert [member.feature for member in members] == ["functionals", "mel", "mel"]
    assert all(member.config.model_params == {} for member in members)
    assert [member.config.epochs for member in members] == [40, 20, 20]


def test_default_members_pair_prosody_fusion_with_a_kernel_model_on_the_prosodic_values():
    members, _ = experiment.configure(experiment.build_parser().parse_args([]))
    assert [member.name for member in members] == [
        "functionals_prosody_fusion",
        "prosody_kernel",
        "stack_conv1d",
        "mfcc_functionals_linear",
    ]
    # The kernel and linear models train as long as the other functionals models.
    assert [member.config.epochs for member in members] == [40, 40, 20, 40]
