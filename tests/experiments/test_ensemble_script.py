"""`python -m experiments.ensemble`: `kser ensemble`'s options plus a smoke size."""

from __future__ import annotations

from experiments import ensemble as experiment
from tests.ensemble.test_workflow import SMOKE


def test_smoke_is_the_workflow_test_configuration():
    args = experiment.build_parser().parse_args(["--smoke", "--protocol", "speaker"])
    assert experiment.configure(args) == SMOKE


def test_smoke_keeps_the_members_named_on_the_command_line():
    args = experiment.build_parser().parse_args(["--smoke", "--members", "mel,prosody:kernel"])
    config = experiment.configure(args)
    assert [member.name for member in config.members] == ["mel_cnn3", "prosody_kernel"]
    # The tiny width is the smoke CNN's; another model keeps its own defaults.
    assert [member.config.model_params for member in config.members] == [{"width": 0.125}, {}]
    assert {member.config.epochs for member in config.members} == {1}
    assert (config.protocol, config.member_folds, config.max_trials) == ("loso", 2, 2)


def test_a_bad_option_is_one_line_and_exit_status_2(capsys, tmp_path):
    assert experiment.main(["--max-trials", "0", "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        "experiments.ensemble: error: max_trials must be a whole number of at least 1. "
        "Received: max_trials=0"
    )
