"""Every `ExperimentConfig` option is checked when the config is made (`check_option`),
so `kser train` refuses a bad one in one line, before the corpus loads."""

from __future__ import annotations

import pytest

from kser.cli import main
from kser.errors import KserConfigError
from kser.training import ExperimentConfig
from kser.training.options import check_option


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--seed", "-1"], "seed must be a whole number of at least 0. Received: seed=-1"),
        (["--weight-decay", "-0.1"], "weight_decay must be 0 or positive"),
        (["--mixup", "-1"], "mixup must be 0 or positive. Received: mixup=-1.0"),
        (["--waveform-augment", "nonsense"], "nonsense"),
        (["--adversarial-training", "nonsense"], "nonsense"),
        (["--fold", "loso-F1"], "folds apply to protocol loso or kfold, not 'speaker'"),
        (["--protocol", "kfold", "--fold", "kfold-9"], "are named kfold-0, kfold-1"),
        (["--protocol", "loso", "--fold", "F1"], "are named loso-<speaker id>"),
        (["--feature-param", "colour=red"], "colour"),
        (["--model-param", "novalue"], "--model-param takes KEY=VALUE. Received: 'novalue'"),
    ],
)
def test_a_bad_option_is_one_line_before_the_corpus_loads(options, message, tmp_path, capsys):
    arguments = ["train", "--data", str(tmp_path / "no-such-corpus"), "--no-mlflow"]
    assert main([*arguments, "--out", str(tmp_path / "run"), *options]) == 2
    error = capsys.readouterr().err
    assert error.startswith("kser train: error: ") and message in error
    assert len(error.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_cv_refuses_a_single_split_protocol(tmp_path, capsys):
    arguments = ["cv", "--data", str(tmp_path), "--protocol", "speaker", "--no-mlflow"]
    assert main(arguments) == 2
    assert "cv needs --protocol loso or kfold" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("class_weights", "yes", "class_weights must be a bool. Received: class_weights='yes'"),
        ("refit", 1, "refit must be a bool"),
        ("folds", "loso-F1", "folds must be a list"),
        ("feature_params", ["n_mels"], "feature_params must be a dict"),
        ("model_params", None, "model_params must be a dict"),
        ("batch_size", 8.0, "batch_size must be a whole number of at least 1"),
        ("epochs", True, "epochs must be a whole number"),
        ("clip_seconds", "3", "clip_seconds must be positive"),
        ("learning_rate", float("nan"), "learning_rate must be positive"),
        ("adversarial_training", 0.1, "adversarial_training must be a str"),
    ],
)
def test_every_field_is_checked_by_type_and_range(option, value, message):
    with pytest.raises(KserConfigError, match=message.replace("(", r"\(")):
        ExperimentConfig(**{option: value})


def test_check_option_accepts_what_it_allows():
    check_option("epochs", 3, whole_from=1)
    check_option("mixup", 0.0, non_negative=True)
    check_option("folds", None, kind=list, optional=True)
    check_option("refit", False, kind=bool)
    with pytest.raises(KserConfigError, match="Received: protocol='x'"):
        check_option("protocol", "x", choices=("seed", "speaker"))
