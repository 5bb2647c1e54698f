"""`kser ensemble` and `EnsembleConfig`: options checked up front, and a cross-fitted LOSO
run (cheap members, 4 speakers) whose test speakers are never seen."""

from __future__ import annotations

import json

import pytest

from kser import cli
from kser.data import load_corpus, make_splits
from kser.ensemble import DEFAULT_MEMBERS, EnsembleConfig, ensemble_members
from kser.errors import KserConfigError
from kser.training import load_bundle
from tests.helpers import SYNTHETIC_SPEAKERS, make_nemo_directory

# Models that train in seconds on utterance-level values (the notebook's smoke members).
CHEAP_MEMBERS = "prosody:kernel,mfcc_functionals:linear"
CHEAP_NAMES = ["prosody_kernel", "mfcc_functionals_linear"]
FOUR_SPEAKERS = {name: SYNTHETIC_SPEAKERS[name] for name in ("F1", "F2", "M1", "M2")}


def test_members_may_pair_a_feature_with_another_model():
    members = ensemble_members("functionals,mel,mel:cnn3")
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
    config = EnsembleConfig()
    assert [member.name for member in config.members] == [
        "functionals_prosody_fusion",
        "prosody_kernel",
        "stack_conv1d",
        "mfcc_functionals_linear",
    ]
    assert len(DEFAULT_MEMBERS) == 4
    # The kernel and linear models train as long as the other functionals models.
    assert [member.config.epochs for member in config.members] == [40, 40, 20, 40]
    assert (config.protocol, config.member_folds, config.max_trials) == ("loso", 5, 30)


def test_members_split_and_seed_as_the_ensemble_does():
    config = EnsembleConfig(ensemble_members("mel,mfcc"), protocol="speaker", seed=7)
    assert {(m.config.protocol, m.config.seed) for m in config.members} == {("speaker", 7)}


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"protocol": "kfold"}, "protocol"),
        ({"member_folds": 1}, "member_folds"),
        ({"max_trials": 0}, "max_trials"),
        ({"seed": 1.5}, "seed"),
        ({"members": ()}, "members"),
        ({"members": ("mel",)}, "members"),
        ({"members": ensemble_members("mel,mel:conv1d")}, "mel_conv1d"),
        ({"folds": "loso-F1"}, "folds"),
    ],
)
def test_a_bad_option_is_refused_when_the_config_is_made(changes, named):
    with pytest.raises(KserConfigError, match=named):
        EnsembleConfig(**changes)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--max-trials", "0"], "max_trials"),
        (["--protocol", "kfold"], "protocol"),
        (["--members", "mel,no_such_feature"], "no_such_feature"),
        (["--fold", "loso-X9"], "loso-X9"),
    ],
)
def test_a_bad_option_is_one_line_and_exit_status_2(options, named, tmp_path, capsys):
    data = make_nemo_directory(tmp_path / "nemo", clips_per_emotion=1, speakers=FOUR_SPEAKERS)
    argv = ["ensemble", "--data", str(data), "--out", str(tmp_path / "run"), *options]
    assert cli.main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("kser ensemble: error: ") and named in error
    assert "\n" not in error
    assert not (tmp_path / "run" / "members").exists()


def test_loso_is_cross_fitted_the_test_speaker_is_never_seen(tmp_path):
    """Fold s's ensemble joins the fold-s members, tuned on the other speakers' predictions."""
    data = make_nemo_directory(tmp_path / "nemo", speakers=FOUR_SPEAKERS)
    out = tmp_path / "run"
    folds = ["loso-F1", "loso-M1"]
    argv = ["ensemble", "--data", str(data), "--out", str(out), "--members", CHEAP_MEMBERS]
    argv += ["--epochs", "1", "--max-trials", "1", "--fold", folds[0], "--fold", folds[1]]
    assert cli.main(argv) == 0

    corpus = load_corpus(data, verbose=False)
    all_folds = [split.name for split in make_splits(corpus, "loso", 42)]
    assert len(all_folds) == 4
    # Every member is trained once per LOSO fold and predicts exactly that fold's speaker.
    for member in CHEAP_NAMES:
        assert sorted(p.stem for p in (out / "oof" / member).glob("*.npz")) == all_folds
    for fold in folds:
        test_speaker = fold.removeprefix("loso-")
        summary = json.loads((out / fold / "ensemble.json").read_text())
        assert summary["test_speakers"] == [test_speaker]
        # The combiner was tuned on every other speaker's out-of-fold predictions.
        assert summary["out_of_fold"]["folds"] == [name for name in all_folds if name != fold]
        for member in CHEAP_NAMES:
            split = json.loads((out / "members" / member / fold / "split.json").read_text())
            assert split["test_speakers"] == [test_speaker]
            assert test_speaker not in split["train_speakers"] + split["val_speakers"]
        bundle = load_bundle(out / fold / "ensemble")
        assert sorted(bundle.extractors) == ["mfcc_functionals", "prosody"]
    summary = json.loads((out / "summary.json").read_text())
    assert [row["name"] for row in summary["ensemble"]["folds"]] == folds
    assert set(summary["member_mean_uar"]) == set(CHEAP_NAMES)
