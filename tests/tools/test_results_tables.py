"""tools/results_tables.py: tables from run directories written by kser's own report writers."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from kser.cli import _experiment_config, build_parser
from kser.data.labels import EMOTIONS
from kser.evaluation import evaluate, write_report
from kser.evaluation.fold_summary import aggregate_folds
from kser.paths import atomic_write_json
from kser.training import ExperimentConfig
from tools import results_tables

CONFIGS = [
    ExperimentConfig(),
    ExperimentConfig(protocol="loso", feature="mel", model="cnn3", epochs=5),
    ExperimentConfig(
        protocol="seed",
        feature="mel",
        model="audio_resnet",
        feature_params={"n_mels": 128},
        model_params={"width": 1.0},
        augment="frequency_mask,time_mask,noise,time_shift",
        weight_decay=0.05,
        patience=40,
        refit=True,
        class_weights=True,
        mixup=0.4,
        speaker_adaptation=False,
    ),
]


@pytest.mark.parametrize("config", CONFIGS, ids=["default", "loso-cnn3", "many-options"])
def test_the_rebuilt_command_parses_back_to_the_same_configuration(config):
    record = json.loads(json.dumps(dataclasses.asdict(config)))  # as config.json holds it
    command = results_tables.kser_command(record, cross_validated=False)
    words = [word.strip("'") for word in command.split()]
    assert words[:2] == ["kser", "train"]
    parsed = _experiment_config(build_parser().parse_args(words[1:]))
    assert json.loads(json.dumps(dataclasses.asdict(parsed))) == record


def test_only_options_that_differ_from_the_defaults_are_named():
    record = dataclasses.asdict(ExperimentConfig(protocol="loso"))
    assert results_tables.kser_command(record, cross_validated=True) == "kser cv --protocol loso"
    # A clip length has no command-line option: no command rather than a wrong one.
    record["clip_seconds"] = 1.0
    assert results_tables.kser_command(record, cross_validated=True) == ""
    assert results_tables.kser_command({"protocol": "speaker", "members": []}, False) == ""


def _scored(directory, speakers, seed, config, seconds=30.0):
    """A run directory as `kser train` leaves it: config.json and write_report's metrics.json."""
    rng = np.random.default_rng(seed)
    y_true = np.tile(np.arange(len(EMOTIONS)), 4 * len(speakers))
    y_prob = rng.dirichlet(np.ones(len(EMOTIONS)), len(y_true))
    y_prob[np.arange(len(y_true))[::2], y_true[::2]] += 2.0  # half the clips right
    y_prob /= y_prob.sum(axis=1, keepdims=True)
    result = evaluate(y_true, y_prob, EMOTIONS, speakers=np.repeat(speakers, 24), n_bootstrap=50)
    write_report(
        result,
        directory,
        title=directory.name,
        metadata={"training_seconds": seconds, "uar_without_speaker_adaptation": 0.25},
    )
    atomic_write_json(directory / "config.json", dataclasses.asdict(config))
    return result


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A `speaker` run and a 3-fold `loso` run (fold directories and summary.json)."""
    root = tmp_path_factory.mktemp("runs")
    single = _scored(root / "quickstart", ["MK0", "SM0"], 0, ExperimentConfig())
    loso = ExperimentConfig(protocol="loso", feature="prosody", model="kernel")
    folds = [
        _scored(root / "kernel-loso" / f"loso-{name}", [name], i, loso, seconds=60.0)
        for i, name in enumerate(["EB0", "KD0", "KS0"])
    ]
    summary = aggregate_folds(folds, ["loso-EB0", "loso-KD0", "loso-KS0"])
    atomic_write_json(root / "kernel-loso" / "summary.json", {"protocol": "loso", **summary})
    atomic_write_json(root / "kernel-loso" / "config.json", dataclasses.asdict(loso))
    return root, single, summary


def test_tables_put_speaker_independent_folds_first_with_each_run_and_its_command(runs):
    root, single, summary = runs
    markdown = results_tables.results_markdown([root], "python tools/results_tables.py runs")
    assert markdown.index("Leave-one-speaker-out") < markdown.index("Unseen test speakers")
    rows = {line.split(" | ")[0].strip("| "): line for line in markdown.splitlines() if "|" in line}
    loso = rows["kernel-loso"].split(" | ")
    assert loso[1] == "kernel on prosody"
    assert loso[2] == f"{summary['uar']['mean']:.3f} ± {summary['uar']['std']:.3f}"
    assert loso[5] == "0.250"
    assert loso[6] == ", ".join(f"{f['name'][5:]} {f['uar']:.3f}" for f in summary["folds"])
    assert loso[7:] == ["3.0 min", "`kser cv --protocol loso --feature prosody --model kernel` |"]
    quickstart = rows["quickstart"].split(" | ")
    low, high = single.uar_ci
    assert quickstart[2] == f"{single.uar:.3f} [{low:.3f}, {high:.3f}]"
    assert quickstart[5:] == [
        "0.250",
        f"MK0 {single.per_speaker_uar['MK0']:.3f}, SM0 {single.per_speaker_uar['SM0']:.3f}",
        "30 s",
        "`kser train --protocol speaker` |",
    ]


def test_write_replaces_only_the_generated_section(runs, tmp_path, capsys):
    root, _, _ = runs
    doc = tmp_path / "results.md"
    recorded = "# Results\n\nRecorded by hand: UAR 0.618.\n\n"
    begin, end = results_tables.BEGIN_MARKER, results_tables.END_MARKER
    doc.write_text(f"{recorded}{begin}\nstale table\n{end}\n\nTail.\n")
    assert results_tables.main([str(root / "quickstart"), "--write", str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith(recorded + begin) and text.endswith("Tail.\n")
    assert "stale table" not in text and "| quickstart |" in text
    assert results_tables.main([str(root / "quickstart"), "--write", str(doc)]) == 0
    assert doc.read_text() == text  # the same runs give the same file

    doc.write_text("no markers here\n")
    capsys.readouterr()
    assert results_tables.main([str(root), "--write", str(doc)]) == 2
    assert "results.md: no generated section" in capsys.readouterr().err


def test_a_folder_without_runs_is_a_one_line_error(tmp_path, capsys):
    assert results_tables.main([str(tmp_path)]) == 2
    assert f"{tmp_path}: not a run directory" in capsys.readouterr().err
