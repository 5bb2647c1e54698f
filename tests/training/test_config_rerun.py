"""`kser train --config RUN/config.json`: a saved run's settings, rerun; bad files refused."""

from __future__ import annotations

import json

import pytest

from kser.cli import main
from kser.training.run_directory import read_config
from tests.helpers import make_nemo_directory
from tests.training.helpers import TINY_CNN


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    return make_nemo_directory(tmp_path_factory.mktemp("rerun") / "nemo")


@pytest.fixture(scope="module")
def first_run(corpus_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("first") / "run"
    arguments = ["train", "--data", str(corpus_dir), "--out", str(out), "--no-mlflow",
                 "--feature", "mel", "--feature-param", "n_mels=16", "--model", "cnn3",
                 "--model-param", f"width={TINY_CNN['width']}", "--batch-size", "8",
                 "--epochs", "2", "--seed", "7", "--class-weights"]  # fmt: skip
    assert main(arguments) == 0
    return out


def test_a_saved_run_reruns_with_its_settings_and_gives_its_numbers(
    first_run, corpus_dir, tmp_path
):
    again = tmp_path / "again"
    command = ["train", "--config", str(first_run / "config.json"), "--data", str(corpus_dir)]
    assert main([*command, "--out", str(again), "--no-mlflow"]) == 0
    assert json.loads((again / "config.json").read_text()) == json.loads(
        (first_run / "config.json").read_text()
    )
    metrics = [json.loads((run / "metrics.json").read_text()) for run in (first_run, again)]
    assert metrics[0]["uar"] == metrics[1]["uar"]
    assert metrics[0]["confusion_matrix"] == metrics[1]["confusion_matrix"]


def test_options_given_with_config_override_the_saved_ones(first_run):
    from kser.cli import _experiment_config, build_parser

    arguments = build_parser().parse_args(["train", "--config", str(first_run), "--epochs", "5"])
    config = _experiment_config(arguments)
    assert config.epochs == 5
    assert (config.seed, config.model, config.class_weights) == (7, "cnn3", True)
    assert config.feature_params == {"n_mels": 16}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read the run's settings"),
        ("[1, 2]", "not a run's settings"),
        ('{"epochs": 3, "colour": "red"}', "unknown option(s) colour"),
        ('{"epochs": 0}', "epochs must be a whole number of at least 1. Received: epochs=0"),
    ],
)
def test_a_bad_config_file_is_one_line_naming_it(content, message, tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(content)
    assert main(["train", "--config", str(path), "--data", str(tmp_path / "none")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"kser train: error: {path}") and message in error
    assert len(error.splitlines()) == 1
    with pytest.raises(Exception, match="config.json"):
        read_config(path)


def test_a_missing_config_file_is_refused(tmp_path, capsys):
    assert main(["train", "--config", str(tmp_path / "nowhere")]) == 2
    assert "cannot read the run's settings" in capsys.readouterr().err
