"""Out-of-fold bookkeeping: in-fold predictions can never be recorded or reach the tuner."""

import numpy as np
import pytest

import kser.ensemble.tuning as tuning
from kser.ensemble import OutOfFoldPredictions, member_folds, tune_combiner
from kser.errors import KserEvaluationError
from tests.ensemble.synthetic import NUM_CLASSES, informative_logits, manifest_corpus


def row_logits(rows, member_offset=0.0):
    """Logits that encode their row, so alignment after stacking can be checked."""
    rows = np.asarray(rows, dtype=np.float32)
    return np.repeat(rows[:, None], NUM_CLASSES, axis=1) + member_offset


def test_a_prediction_for_a_training_row_is_refused():
    oof = OutOfFoldPredictions(NUM_CLASSES)
    with pytest.raises(KserEvaluationError, match="1 predicted rows were in the member's training"):
        oof.add("mel", "fold-0", rows=[4, 5, 6], logits=row_logits([4, 5, 6]), trained_on=[0, 6])
    assert not oof.has("mel", "fold-0")


def test_a_member_cannot_predict_a_row_in_two_folds():
    oof = OutOfFoldPredictions(NUM_CLASSES)
    oof.add("mel", "fold-0", rows=[0, 1], logits=row_logits([0, 1]), trained_on=[2, 3])
    with pytest.raises(KserEvaluationError, match="already predicted in fold-0"):
        oof.add("mel", "fold-1", rows=[1, 2], logits=row_logits([1, 2]), trained_on=[0, 3])
    with pytest.raises(KserEvaluationError, match="already recorded"):
        oof.add("mel", "fold-0", rows=[5], logits=row_logits([5]), trained_on=[2])


def test_bad_shapes_and_names_are_refused():
    oof = OutOfFoldPredictions(NUM_CLASSES)
    with pytest.raises(KserEvaluationError, match="logits must have shape"):
        oof.add("mel", "fold-0", rows=[0, 1], logits=np.zeros((2, 3)), trained_on=[2])
    with pytest.raises(KserEvaluationError, match="member names"):
        oof.add("../mel", "fold-0", rows=[0], logits=row_logits([0]), trained_on=[2])


def test_stacked_keeps_rows_every_member_predicted_aligned_by_row():
    oof = OutOfFoldPredictions(NUM_CLASSES)
    oof.add("mel", "fold-1", rows=[7, 3], logits=row_logits([7, 3]), trained_on=[0, 1, 2])
    oof.add("mel", "fold-0", rows=[0, 1, 2], logits=row_logits([0, 1, 2]), trained_on=[3, 7])
    oof.add("hpss", "fold-0", rows=[2, 1], logits=row_logits([2, 1], 0.5), trained_on=[3, 7])
    oof.add("hpss", "fold-1", rows=[7], logits=row_logits([7], 0.5), trained_on=[0, 1, 2])

    member_logits = oof.member_logits(["mel", "hpss"])
    np.testing.assert_array_equal(
        member_logits.rows, [1, 2, 7]
    )  # row 0 and 3 lack an hpss prediction
    np.testing.assert_array_equal(member_logits.folds, ["fold-0", "fold-0", "fold-1"])
    np.testing.assert_array_equal(member_logits.logits[:, 0, 0], [1, 2, 7])
    np.testing.assert_array_equal(member_logits.logits[:, 1, 0], [1.5, 2.5, 7.5])
    with pytest.raises(KserEvaluationError, match="no out-of-fold predictions for member 'mfcc'"):
        oof.member_logits(["mel", "mfcc"])


def test_members_on_different_folds_cannot_be_stacked():
    oof = OutOfFoldPredictions(NUM_CLASSES)
    oof.add("mel", "fold-0", rows=[0, 1], logits=row_logits([0, 1]), trained_on=[2])
    oof.add("hpss", "fold-1", rows=[0, 1], logits=row_logits([0, 1]), trained_on=[2])
    with pytest.raises(KserEvaluationError, match="different folds"):
        oof.member_logits(["mel", "hpss"])


def test_recorded_folds_are_read_back_and_rechecked(tmp_path):
    oof = OutOfFoldPredictions(NUM_CLASSES, directory=tmp_path)
    oof.add("mel", "fold-0", rows=[0, 1], logits=row_logits([0, 1]), trained_on=[2, 3])
    resumed = OutOfFoldPredictions(NUM_CLASSES, directory=tmp_path)
    assert resumed.has("mel", "fold-0") and not resumed.has("mel", "fold-1")
    np.testing.assert_array_equal(
        resumed.member_logits(["mel"]).logits, oof.member_logits(["mel"]).logits
    )

    # A file that claims an in-fold prediction is rejected on load, not trusted.
    np.savez(tmp_path / "mel" / "fold-1.npz", rows=[2], logits=row_logits([2]), trained_on=[2])
    with pytest.raises(KserEvaluationError, match="training data"):
        OutOfFoldPredictions(NUM_CLASSES, directory=tmp_path)


def test_the_tuner_only_receives_rows_the_members_never_trained_on(tmp_path, monkeypatch):
    """Members that memorise their training rows look perfect in fold and useless out of it."""
    corpus = manifest_corpus(n_speakers=5, clips_per_emotion=3)
    labels = np.asarray(corpus.label_indices)
    folds = member_folds(corpus, np.arange(len(corpus)), n_folds=3, seed=0)

    def memorising_member(rows, trained_on, seed):
        """Perfect logits for rows it trained on, noise for the rest."""
        logits = informative_logits(labels[rows], strength=0.0, seed=seed)
        seen = np.isin(rows, trained_on)
        logits[seen] += 10.0 * np.eye(NUM_CLASSES)[labels[rows][seen]]
        return logits

    oof = OutOfFoldPredictions(NUM_CLASSES)
    for k, member in enumerate(["mel", "hpss"]):
        for f, fold in enumerate(folds):
            with pytest.raises(KserEvaluationError):
                in_fold = fold.train[:3]
                oof.add(
                    member,
                    fold.name,
                    rows=in_fold,
                    logits=memorising_member(in_fold, fold.trained_on, 10 * k + f),
                    trained_on=fold.trained_on,
                )
            oof.add(
                member,
                fold.name,
                rows=fold.holdout,
                logits=memorising_member(fold.holdout, fold.trained_on, 10 * k + f),
                trained_on=fold.trained_on,
            )

    received = []
    original_run_trial = tuning.CombinerTuner.run_trial

    def spying_run_trial(self, trial, member_logits, trial_labels, **options):
        received.append(member_logits)
        return original_run_trial(self, trial, member_logits, trial_labels, **options)

    monkeypatch.setattr(tuning.CombinerTuner, "run_trial", spying_run_trial)
    member_logits = oof.member_logits(["mel", "hpss"])
    result = tune_combiner(
        member_logits, labels[member_logits.rows], tmp_path, max_trials=2, seed=0
    )

    assert len(received) == 2
    trained_on_by_fold = {fold.name: fold.trained_on for fold in folds}
    for seen in received:
        np.testing.assert_array_equal(np.sort(seen.rows), np.arange(len(corpus)))
        for row, fold in zip(seen.rows, seen.folds, strict=True):
            assert row not in trained_on_by_fold[fold]
    # In fold the members are perfect; out of fold the tuner sees chance-level members.
    assert result.uar < 0.5
