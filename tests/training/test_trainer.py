"""`train`: validation UAR, checkpoint selection, early stopping, seeding, resuming."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from kser.training import train
from kser.training.trainer import BestEpochCheckpoint, validation_scores
from tests.training.helpers import N_CLASSES, synthetic_batches, tiny_classifier


def test_validation_scores_match_a_hand_computation():
    # Class 0: 2 of 3 right; class 1: 1 of 1; class 2: 0 of 2 -> UAR (2/3 + 1 + 0) / 3.
    labels = np.array([0, 0, 0, 1, 2, 2])
    predicted = np.array([0, 0, 1, 1, 0, 1])
    logits = np.full((6, 3), -1.0)
    logits[np.arange(6), predicted] = 1.0
    scores = validation_scores(logits, labels)
    assert scores["val_uar"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    assert scores["val_accuracy"] == pytest.approx(3 / 6)
    # Each row's softmax gives the right class e^1/(e^1+2e^-1) or e^-1/(e^1+2e^-1).
    right = np.log(np.e / (np.e + 2 / np.e))
    wrong = np.log((1 / np.e) / (np.e + 2 / np.e))
    assert scores["val_loss"] == pytest.approx(-(3 * right + 3 * wrong) / 6)


def test_training_learns_and_keeps_the_best_epoch(tmp_path):
    model = tiny_classifier()
    result = train(
        model,
        synthetic_batches(shuffle=True),
        synthetic_batches(seed=1),
        run_dir=tmp_path,
        epochs=8,
        learning_rate=1e-2,
        verbose=0,
    )
    history = result.history
    assert history["loss"][-1] < history["loss"][0]
    assert len(history["val_uar"]) == result.epochs_run == 8
    assert result.best_epoch == int(np.argmax(history["val_uar"])) + 1
    assert result.best_val_uar == max(history["val_uar"]) > 0.6
    # The model holds the selected epoch's weights, not the last epoch's.
    batches = list(synthetic_batches(seed=1).as_numpy_iterator())
    logits = np.concatenate([model.predict_on_batch(x) for x, _ in batches])
    rescored = validation_scores(logits, np.concatenate([y for _, y in batches]))
    assert rescored["val_uar"] == pytest.approx(result.best_val_uar)
    assert (tmp_path / "checkpoints" / "best.weights.h5").is_file()
    assert not (tmp_path / "checkpoints" / "backup").exists()  # removed once training ends


def _run_selector(tmp_path, val_uars, patience):
    """Feed BestEpochCheckpoint a sequence of val UARs; epoch k's weights are all k."""
    model = tiny_classifier()
    selector = BestEpochCheckpoint(tmp_path, patience=patience)
    selector.set_model(model)
    model.stop_training = False  # fit() would set it
    for epoch, uar in enumerate(val_uars):
        selector.on_epoch_begin(epoch)
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])
        selector.on_epoch_end(epoch, {"loss": 1.0, "val_uar": uar})
        if model.stop_training:
            break
    return model, selector


def test_checkpoint_selection_keeps_the_first_best_epoch(tmp_path):
    model, selector = _run_selector(tmp_path, [0.2, 0.5, 0.3, 0.5, 0.1], patience=10)
    assert selector.best_epoch == 1 and selector.best_value == 0.5
    model.load_weights(selector.weights_path)
    assert all(np.all(w == 1) for w in model.get_weights())
    state = json.loads(selector.state_path.read_text())
    assert state["best_epoch"] == 1 and state["history"]["val_uar"] == [0.2, 0.5, 0.3, 0.5, 0.1]


def test_early_stopping_after_patience_epochs_without_improvement(tmp_path):
    model, selector = _run_selector(tmp_path, [0.3, 0.4, 0.35, 0.39, 0.9], patience=2)
    assert model.stop_training
    assert selector.history["val_uar"] == [0.3, 0.4, 0.35, 0.39]  # stopped before 0.9


def test_same_seed_gives_the_same_weights(tmp_path):
    def weights_after_one_epoch(seed, run_dir):
        model = tiny_classifier(seed)
        train(
            model,
            synthetic_batches(shuffle=True, seed=seed),
            synthetic_batches(seed=1),
            run_dir=run_dir,
            epochs=1,
            seed=seed,
            verbose=0,
        )
        return model.get_weights()

    first = weights_after_one_epoch(3, tmp_path / "a")
    again = weights_after_one_epoch(3, tmp_path / "b")
    other = weights_after_one_epoch(4, tmp_path / "c")
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, c) for a, c in zip(first, other, strict=True))


def test_soft_label_rows_train_like_class_indices(tmp_path):
    """Probability rows (mixup's labels) get the categorical loss: one-hot rows train
    as class indices do, softened rows pay for their uncertainty."""

    def history(batches, run_dir):
        model = tiny_classifier(seed=2)
        result = train(model, batches, synthetic_batches(seed=1), run_dir=run_dir, epochs=3,
                       seed=2, learning_rate=1e-2, verbose=0)  # fmt: skip
        return result.history

    # Unshuffled, so that both see the batches in one order.
    from_indices = history(synthetic_batches(), tmp_path / "indices")
    one_hot = synthetic_batches().map(lambda x, y: (x, tf.one_hot(y, N_CLASSES)))
    from_rows = history(one_hot, tmp_path / "rows")
    # Adam magnifies rounding differences of near-zero gradients, so compare the curves.
    np.testing.assert_allclose(from_rows["loss"], from_indices["loss"], rtol=0.02)
    np.testing.assert_allclose(from_rows["accuracy"], from_indices["accuracy"], atol=0.05)
    assert from_rows["loss"][-1] < from_rows["loss"][0]
    smoothed = synthetic_batches().map(
        lambda x, y: (x, 0.5 * tf.one_hot(y, N_CLASSES) + 0.5 / N_CLASSES)
    )
    from_smoothed = history(smoothed, tmp_path / "smoothed")
    # The best a model can do on 2/3-1/6-1/6 rows is their entropy, 0.87 nats.
    assert min(from_smoothed["loss"]) > 0.85 > from_indices["loss"][-1]


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    arguments = dict(run_dir=tmp_path, epochs=4, verbose=0)
    with pytest.raises(KeyboardInterrupt):
        train(
            tiny_classifier(),
            synthetic_batches(),
            synthetic_batches(seed=1),
            callbacks=[_Interrupt()],
            **arguments,
        )
    result = train(tiny_classifier(), synthetic_batches(), synthetic_batches(seed=1), **arguments)
    assert result.resumed_from_epoch == 2
    assert len(result.history["val_uar"]) == result.epochs_run == 4


def test_without_validation_data_the_last_epoch_is_kept(tmp_path):
    model = tiny_classifier()
    result = train(
        model, synthetic_batches(shuffle=True), None, run_dir=tmp_path, epochs=3, verbose=0
    )
    assert result.epochs_run == result.best_epoch == 3
    assert np.isnan(result.best_val_uar)
    assert "val_uar" not in result.history and len(result.history["loss"]) == 3
    saved = tiny_classifier(seed=5)
    saved.load_weights(tmp_path / "checkpoints" / "last.weights.h5")
    assert all(
        np.array_equal(a, b) for a, b in zip(model.get_weights(), saved.get_weights(), strict=True)
    )
    with pytest.raises(ValueError, match="without val_data use 'cosine'"):
        train(tiny_classifier(), synthetic_batches(), None, run_dir=tmp_path, schedule="plateau")


def test_bad_arguments_are_rejected(tmp_path):
    data = synthetic_batches()
    with pytest.raises(ValueError, match="epochs"):
        train(tiny_classifier(), data, data, run_dir=tmp_path, epochs=0)
    with pytest.raises(ValueError, match="schedule"):
        train(tiny_classifier(), data, data, run_dir=tmp_path, schedule="step")
