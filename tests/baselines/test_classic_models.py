"""SVM and XGBoost baselines: trained into ordinary bundles that kser's commands use."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kser.baselines import build_classifier, load_classifier
from kser.cli import main
from kser.data import load_corpus
from kser.training import ExperimentConfig, load_bundle, run_experiment
from tests.helpers import make_nemo_directory

pytest.importorskip("opensmile")
pytest.importorskip("sklearn")
pytest.importorskip("xgboost")

CHANCE = 1 / 6
FAST_XGBOOST = {"n_estimators": 20}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One speaker-independent run per classic model on tones whose pitch is the emotion."""
    root = tmp_path_factory.mktemp("baselines")
    nemo = make_nemo_directory(root / "nemo", seconds=0.5, sample_rate=16000)
    corpus = load_corpus(nemo)
    outcomes = {}
    for model, params in (("svm", {}), ("xgboost", FAST_XGBOOST)):
        config = ExperimentConfig(
            feature="egemaps", model=model, model_params=params, clip_seconds=0.5
        )
        outcomes[model] = run_experiment(
            corpus, config, root / model, cache_root=root / "cache", verbose=0
        )
    return nemo, corpus, outcomes


@pytest.mark.parametrize("model", ["svm", "xgboost"])
def test_a_classic_bundle_beats_chance_and_reloads_with_the_same_scores(runs, model):
    _, corpus, outcomes = runs
    outcome = outcomes[model]
    assert outcome.evaluation.uar > 2 * CHANCE
    bundle = load_bundle(outcome.splits[0].bundle_directory)
    assert bundle.model.name == model
    info = json.loads((outcome.splits[0].bundle_directory / "bundle.json").read_text())
    assert info["features"]["features"]["name"] == "egemaps" and info["model"]["name"] == model
    again = bundle.evaluate(corpus, bundle.split_rows(corpus, "test"))
    assert again.uar == pytest.approx(outcome.evaluation.uar)
    np.testing.assert_allclose(again.y_prob, outcome.evaluation.y_prob, atol=1e-6)


@pytest.mark.parametrize("model, params", [("svm", {}), ("xgboost", FAST_XGBOOST)])
def test_a_saved_classifier_predicts_what_it_did_before(tmp_path, model, params):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 10))
    labels = np.repeat(np.arange(3), 20)
    rows = centres[labels] + 0.7 * rng.normal(size=(60, 10))
    classifier = build_classifier(model, 3, seed=1, **params)
    selection = classifier.fit(rows[::2], labels[::2], rows[1::2], labels[1::2])
    assert selection["chosen"] == classifier.params
    before = classifier.predict(rows[1::2, :, None])
    assert (before.argmax(1) == labels[1::2]).mean() > 0.8
    np.testing.assert_allclose(np.exp(before).sum(1), 1.0, atol=1e-9)
    classifier.save(tmp_path)
    np.testing.assert_allclose(load_classifier(tmp_path).predict(rows[1::2, :, None]), before)


def test_report_ranks_them_and_evaluate_scores_groups_of_clips(runs, capsys, tmp_path):
    nemo, _, outcomes = runs
    svm, xgboost = (outcomes[model].run_dir for model in ("svm", "xgboost"))
    assert main(["report", str(svm), str(xgboost)]) == 0
    listed = capsys.readouterr().out
    assert str(svm.name) in listed and str(xgboost.name) in listed
    assert "svm" in listed and "xgboost" in listed
    out = tmp_path / "groups.json"
    code = main(
        ["evaluate", str(svm), "--data", str(nemo), "--clips-per-speaker", "2",
         "--json", str(out)]
    )  # fmt: skip
    assert code == 0
    assert 0 <= json.loads(out.read_text())["uar"] <= 1


@pytest.mark.parametrize(
    "command", [["export", "--out", "x"], ["explain", "clip.wav", "--out", "x"]]
)
def test_keras_only_commands_refuse_a_classic_bundle(runs, capsys, command, tmp_path):
    *_, outcomes = runs
    name, *rest = command
    bundle = str(outcomes["svm"].run_dir)
    assert main([name, bundle, *rest]) == 2
    assert "needs a Keras model" in capsys.readouterr().err
