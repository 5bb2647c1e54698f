"""`run_experiment`: the whole pipeline on a tiny synthetic corpus."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import soundfile
from mlflow.tracking import MlflowClient

from kser.data import load_corpus
from kser.evaluation.calibration import calibrating_temperature
from kser.inference.speaker_adaptation import SpeakerAdaptation
from kser.training import ExperimentConfig, Tracker, load_bundle, run_experiment
from kser.training.speaker_settings import GROWTH_CLIPS
from tests.helpers import make_nemo_directory
from tests.training.helpers import TINY_CONFIG

TINY = dataclasses.replace(TINY_CONFIG, epochs=2)


@pytest.fixture(scope="module")
def tracked_run(tmp_path_factory):
    """One tracked run shared by the module's tests: `(corpus, outcome, store uri)`."""
    root = tmp_path_factory.mktemp("tracked")
    corpus = load_corpus(make_nemo_directory(root / "nemo"), verbose=False)
    store_uri = f"sqlite:///{root / 'mlruns.db'}"
    tracker = Tracker(store_uri)
    outcome = run_experiment(corpus, TINY, root / "run", tracker=tracker, verbose=0)
    return corpus, outcome, store_uri, tracker.run_id


def test_a_run_writes_its_report_and_split(tracked_run):
    _, outcome, _, _ = tracked_run
    run_dir = outcome.run_dir
    for name in (
        "config.json",
        "split.json",
        "metrics.json",
        "report.md",
        "report.html",
        "confusion.png",
        "training_curves.png",
        "predictions.csv",
    ):
        assert (run_dir / name).is_file(), name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["uar"] == pytest.approx(outcome.evaluation.uar)
    assert metrics["metadata"]["best_epoch"] == outcome.splits[0].training.best_epoch
    # A CNN over mel frames adapts to each speaker on its embedding.
    assert 0.0 <= metrics["metadata"]["uar_without_speaker_adaptation"] <= 1.0
    bundle = load_bundle(run_dir)
    adaptation = bundle.speaker_adaptation
    assert adaptation.graph == "embedding"
    # Its temperature is the one that calibrates the adapted validation predictions.
    corpus = tracked_run[0]
    val = bundle.with_speaker_adaptation(dataclasses.replace(adaptation, temperature=1.0)).evaluate(
        corpus, bundle.split_rows(corpus, "val")
    )
    assert adaptation.temperature == pytest.approx(
        calibrating_temperature(val.y_prob, val.y_true) or 1.0
    )
    split = json.loads((run_dir / "split.json").read_text())
    assert not set(split["test_speakers"]) & set(split["train_speakers"] + split["val_speakers"])


def test_the_bundle_alone_reproduces_the_test_evaluation(tracked_run):
    corpus, outcome, _, _ = tracked_run
    bundle = load_bundle(outcome.run_dir)
    assert bundle.info["metrics"]["uar"] == pytest.approx(outcome.evaluation.uar)
    test_rows = bundle.split_rows(corpus, "test")
    assert set(corpus.manifest["speaker"].iloc[test_rows]) == set(
        bundle.info["split"]["test_speakers"]
    )
    rescored = bundle.evaluate(corpus, test_rows)
    np.testing.assert_allclose(rescored.y_prob, outcome.evaluation.y_prob, rtol=1e-5, atol=1e-6)


def test_the_run_is_recorded_in_mlflow(tracked_run):
    _, outcome, store_uri, run_id = tracked_run
    client = MlflowClient(store_uri)
    logged = client.get_run(run_id)
    assert logged.info.status == "FINISHED"
    assert logged.data.params["model"] == "cnn3" and logged.data.params["protocol"] == "speaker"
    assert logged.data.metrics["test_uar"] == pytest.approx(outcome.evaluation.uar)
    assert len(client.get_metric_history(run_id, "val_uar")) == TINY.epochs
    artifacts = {f.path for f in client.list_artifacts(run_id)}
    assert {"bundle", "metrics.json", "report.html"} <= artifacts and "checkpoints" not in artifacts


def test_the_same_configuration_again_gives_the_same_split_and_numbers(tracked_run, tmp_path):
    corpus, first, _, _ = tracked_run
    second = run_experiment(corpus, TINY, tmp_path, verbose=0)
    assert (tmp_path / "split.json").read_text() == (first.run_dir / "split.json").read_text()
    np.testing.assert_array_equal(second.evaluation.y_prob, first.evaluation.y_prob)


def test_a_multi_fold_protocol_writes_one_bundle_per_fold_and_a_summary(tiny_corpus, tmp_path):
    config = dataclasses.replace(TINY, protocol="loso", epochs=1, folds=["loso-F1", "loso-M2"])
    outcome = run_experiment(tiny_corpus, config, tmp_path, verbose=0)
    assert [split.name for split in outcome.splits] == ["loso-F1", "loso-M2"]
    assert outcome.summary["n_folds"] == 2
    assert json.loads((tmp_path / "summary.json").read_text())["uar"]["values"] == [
        split.evaluation.uar for split in outcome.splits
    ]
    assert load_bundle(tmp_path / "loso-M2").info["split"]["test_speakers"] == ["M2"]


def test_an_unknown_fold_is_named(tiny_corpus, tmp_path):
    config = dataclasses.replace(TINY, protocol="loso", folds=["loso-XX"])
    with pytest.raises(ValueError, match="loso-XX"):
        run_experiment(tiny_corpus, config, tmp_path, verbose=0)


def test_by_default_prosody_fusion_learns_from_utterance_functionals(tiny_corpus, tmp_path):
    default = ExperimentConfig()
    assert (default.feature, default.model, default.epochs) == ("functionals", "prosody_fusion", 40)
    assert default.speaker_adaptation is True
    assert ExperimentConfig(feature="prosody").model == "linear"
    mel = ExperimentConfig(feature="mel")
    assert (mel.model, mel.epochs) == ("conv1d", 20)  # frame sequences: the 1-D CNN
    # Each synthetic emotion has its own pitch: mel-band means and the pitch
    # statistics both tell them apart.
    config = ExperimentConfig(
        feature_params={"features": ["mel", "rms"]},
        clip_seconds=0.5,
        epochs=30,
        patience=30,
        batch_size=8,
        learning_rate=1e-2,
    )
    outcome = run_experiment(tiny_corpus, config, tmp_path, verbose=0)
    assert outcome.evaluation.uar >= 0.8
    bundle = load_bundle(tmp_path)
    assert bundle.extractor.name == "functionals"
    assert tuple(bundle.model.input_shape) == (None, bundle.extractor.n_bins, 1)
    assert bundle.extractor.params["prosody"] is True
    # The bundle adapts to each speaker; the report also gives the UAR without it.
    # With no mistake on the validation clips, nothing pins its temperature down: 1.
    assert bundle.evaluate(tiny_corpus, bundle.split_rows(tiny_corpus, "val")).accuracy == 1.0
    # Its growth with the clips of a speaker is chosen on them too.
    adaptation = bundle.speaker_adaptation
    assert dataclasses.replace(adaptation, growth_clips=0.0) == SpeakerAdaptation()
    assert adaptation.growth_clips in GROWTH_CLIPS
    metadata = json.loads((tmp_path / "metrics.json").read_text())["metadata"]
    test_rows = bundle.split_rows(tiny_corpus, "test")
    plain = bundle.with_speaker_adaptation(None).evaluate(tiny_corpus, test_rows)
    assert metadata["uar_without_speaker_adaptation"] == pytest.approx(plain.uar)
    assert bundle.evaluate(tiny_corpus, test_rows).uar == pytest.approx(outcome.evaluation.uar)


def test_refit_retrains_on_train_and_val_for_the_chosen_epochs(tmp_path):
    # Each speaker speaks at its own level, so global statistics depend on who is in.
    root = make_nemo_directory(tmp_path / "nemo")
    for path in sorted((root / "samples").iterdir()):
        level = 0.1 + 0.1 * int(path.name[1])  # F1 M1 F2 ... -> the speaker's number
        data, rate = soundfile.read(path, dtype="float32")
        soundfile.write(path, data / np.abs(data).max() * level, rate)
    corpus = load_corpus(root, verbose=False)
    config = dataclasses.replace(TINY, normalization="global")
    selected = run_experiment(corpus, config, tmp_path / "selected", verbose=0)
    refit = run_experiment(
        corpus, dataclasses.replace(config, refit=True), tmp_path / "refit", verbose=0
    )
    chosen = selected.splits[0].training.best_epoch
    state = json.loads((refit.run_dir / "refit" / "checkpoints" / "state.json").read_text())
    assert len(state["history"]["loss"]) == chosen  # as many epochs as were chosen
    bundle, plain = load_bundle(refit.run_dir), load_bundle(selected.run_dir)
    assert bundle.info["training"]["refit_on_train_and_val"] is True
    assert plain.info["training"]["refit_on_train_and_val"] is False
    # The normalizer saw the validation speaker too: its global statistics moved.
    assert not np.allclose(bundle.normalizer.mean, plain.normalizer.mean, atol=0.1)
    # Same test clips, another model.
    assert refit.evaluation.n == selected.evaluation.n


def test_mixup_is_configured_checked_and_recorded(tiny_corpus, tmp_path):
    with pytest.raises(ValueError, match="mixup"):
        ExperimentConfig(mixup=-0.5)
    outcome = run_experiment(
        tiny_corpus, dataclasses.replace(TINY, mixup=0.4), tmp_path / "run", verbose=0
    )
    bundle = load_bundle(outcome.run_dir)
    assert bundle.info["training"]["mixup"] == 0.4
    # Test clips are scored as they are: every one gets a prediction.
    assert outcome.evaluation.n == len(bundle.split_rows(tiny_corpus, "test"))
