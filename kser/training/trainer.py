"""`train`: the one training loop every kser experiment uses.

AdamW with a cosine learning-rate decay (or ReduceLROnPlateau), optional class
weights, and checkpoint selection on validation UAR: nEMO's speaker-independent
UAR swings by tens of points from one epoch to the next, so the epoch kept is
the one with the best UAR on validation speakers, never simply the last.

Everything an interrupted run needs to continue lives in `run_dir/checkpoints`:
the latest weights and optimizer state (`keras.callbacks.BackupAndRestore`),
the selection state (`state.json`: every epoch's metrics, the best epoch and
its weights) and the random and callback state (`kser.training.resume`).
Calling `train` again with the same `run_dir` resumes, and on CPU ends exactly
where the uninterrupted run would have.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from kser.evaluation.metrics import accuracy, confusion_matrix, unweighted_average_recall
from kser.paths import atomic_write_json
from kser.training.resume import (
    BACKUP_DIR,
    TrainingStateCheckpoint,
    backed_up_epoch,
    skip_epochs,
)

SCHEDULES = ("cosine", "plateau")
MONITOR = "val_uar"


@dataclass
class TrainingResult:
    """What `train` did. `best_epoch` counts from 1, like the progress bar."""

    history: dict[str, list[float]]
    best_epoch: int
    best_val_uar: float
    epochs_run: int
    stopped_early: bool
    seconds: float
    best_weights: Path
    resumed_from_epoch: int = 0
    params: dict = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend; make TensorFlow ops deterministic.

    Call before building the model so its initial weights depend on `seed`.
    With TensorFlow on CPU the same seed then gives the same weights after
    training, bit for bit.
    """
    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def train(
    model: keras.Model,
    train_data,
    val_data,
    *,
    run_dir,
    epochs: int = 30,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
    schedule: str = "cosine",
    patience: int = 10,
    class_weights: dict[int, float] | None = None,
    seed: int = 0,
    callbacks=(),
    tracker=None,
    verbose=1,
    adversarial_training=None,
) -> TrainingResult:
    """Fit `model` (which outputs logits) and leave it holding the best epoch's weights.

    Args:
        model: an uncompiled Keras model mapping features to logits.
        train_data: batches of `(features, labels)`, e.g. a `tf.data.Dataset`;
            shuffle it yourself (seeded). Labels are class indices, or rows of
            class probabilities (a `tf.data.Dataset` of soft labels, as mixup
            makes them). For `schedule="cosine"` its length
            must be known.
        val_data: batches of `(features, labels)` from speakers that are in
            neither the training nor the test set. Scored once per epoch.
            None: no selection and no early stopping; the model keeps the
            last epoch's weights (a refit for an epoch count chosen before).
        run_dir: the run's directory; checkpoints go to `run_dir/checkpoints`.
        epochs: the most epochs to run.
        schedule: "cosine" (decay to 0 over `epochs`) or "plateau" (halve the
            rate after `patience // 2` epochs without a better val UAR).
        patience: stop after this many epochs without a better val UAR.
        class_weights: `{class_index: weight}` for the loss, or None.
        seed: seeds dropout and every other random op of the fit.
        callbacks: extra Keras callbacks; they see `val_uar` in the epoch logs.
        tracker: a `kser.training.Tracker` with a started run, or None; gets
            each epoch's metrics.
        verbose: Keras progress-bar verbosity (0 silent, 1 bar, 2 one line per epoch).
            A bar needs a terminal: into a file or pipe, 1 gives one line per epoch.
        adversarial_training: a `kser.adversarial.Attack` (eps in normalized-feature
            units): each step then learns every batch clean and attacked
            (`kser.adversarial.training`); None: clean batches only.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1. Received: epochs={epochs}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}. Received: schedule={schedule!r}")
    if val_data is None and schedule != "cosine":
        raise ValueError(
            f"schedule={schedule!r} follows the validation UAR; without val_data use 'cosine'"
        )
    if verbose == 1 and not getattr(sys.stdout, "isatty", lambda: False)():
        verbose = 2  # Keras would redraw its bar with control characters into the file
    checkpoint_dir = Path(run_dir) / "checkpoints"
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    if adversarial_training is not None:
        from kser.adversarial.training import AdversarialTraining

        # Fitted in the wrapper, the weights are `model`'s own: nothing to copy back.
        model = AdversarialTraining(model, adversarial_training)

    if schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=epochs * _steps_per_epoch(train_data)
        )
    else:
        rate = learning_rate
    if _soft_labels(train_data):
        loss = keras.losses.CategoricalCrossentropy(from_logits=True)
        training_accuracy = keras.metrics.CategoricalAccuracy(name="accuracy")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        training_accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=rate, weight_decay=weight_decay),
        loss=loss,
        metrics=[training_accuracy],
    )
    if val_data is None:
        selector = LastEpochCheckpoint(checkpoint_dir)
        fit_callbacks = [selector]
    else:
        selector = BestEpochCheckpoint(checkpoint_dir, patience=patience)
        # Order matters: validation scores go into the logs before anything reads them.
        fit_callbacks = [ValidationMetrics(val_data), selector]
    if schedule == "plateau":
        fit_callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=MONITOR, mode="max", factor=0.5, patience=max(1, patience // 2)
            )
        )
    if tracker is not None:
        fit_callbacks.append(TrackerLogger(tracker))
    fit_callbacks += list(callbacks)
    resume_epoch = backed_up_epoch(checkpoint_dir)
    fit_callbacks += [
        TrainingStateCheckpoint(checkpoint_dir, fit_callbacks, resume_epoch),
        keras.callbacks.BackupAndRestore(str(checkpoint_dir / BACKUP_DIR)),
    ]
    if resume_epoch:
        skip_epochs(train_data, resume_epoch)
        if verbose:
            print(
                f"kser: resuming {checkpoint_dir} after epoch {resume_epoch} of {epochs} "
                "(weights, optimizer, random and data-order state restored)"
            )

    start = time.perf_counter()
    model.fit(
        train_data,
        epochs=epochs,
        class_weight=class_weights,
        callbacks=fit_callbacks,
        shuffle=False,  # the dataset shuffles itself, seeded
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    if selector.best_epoch is None:
        raise RuntimeError(f"{checkpoint_dir}: training finished without a scored epoch")
    model.load_weights(selector.weights_path)
    history = selector.history
    epochs_run = len(next(iter(history.values())))
    return TrainingResult(
        history=history,
        best_epoch=selector.best_epoch + 1,
        best_val_uar=selector.best_value,
        epochs_run=epochs_run,
        stopped_early=epochs_run < epochs,
        seconds=seconds,
        best_weights=selector.weights_path,
        resumed_from_epoch=selector.resumed_from_epoch,
        params={
            "epochs": epochs,
            "learning_rate": learning_rate,
            "weight_decay": weight_decay,
            "schedule": schedule,
            "patience": patience,
            "class_weights": class_weights,
            "seed": seed,
        },
    )


def _soft_labels(train_data) -> bool:
    """Whether a dataset's labels are probability rows `(batch, classes)`, not indices."""
    spec = getattr(train_data, "element_spec", None)
    return isinstance(spec, tuple) and len(spec) > 1 and spec[1].shape.rank == 2


class ValidationMetrics(keras.callbacks.Callback):
    """Adds `val_loss`, `val_accuracy` and `val_uar` to each epoch's logs.

    Keras has no UAR metric, and its built-in validation would run a second
    forward pass over the same clips, so validation is done here, once, from
    the model's logits with NumPy.
    """

    def __init__(self, val_data):
        super().__init__()
        self.val_data = val_data

    def on_epoch_end(self, epoch, logs=None):
        logits, labels = [], []
        for features, batch_labels in _numpy_batches(self.val_data):
            logits.append(keras.ops.convert_to_numpy(self.model.predict_on_batch(features)))
            labels.append(np.asarray(batch_labels))
        scores = validation_scores(np.concatenate(logits), np.concatenate(labels))
        if logs is not None:
            logs.update(scores)
            logs["learning_rate"] = _current_learning_rate(self.model.optimizer)


def validation_scores(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Mean cross-entropy, accuracy and UAR of `logits` `(n, n_classes)` against `labels` `(n,)`."""
    labels = labels.astype(np.int64).reshape(-1)
    log_probs = log_softmax(logits)
    confusion = confusion_matrix(labels, logits.argmax(axis=1), logits.shape[1])
    return {
        "val_loss": float(-log_probs[np.arange(len(labels)), labels].mean()),
        "val_accuracy": accuracy(confusion),
        MONITOR: unweighted_average_recall(confusion),
    }


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities of `(n, n_classes)` logits, computed stably in float64."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class BestEpochCheckpoint(keras.callbacks.Callback):
    """Keeps the weights of the epoch with the highest `val_uar`; stops after `patience` more.

    The first epoch reaching the best value wins ties. Each epoch's logs, the
    best epoch and the patience count are saved to `state.json`, so a resumed
    run selects exactly as an uninterrupted one would.
    """

    def __init__(self, checkpoint_dir, patience: int = 10):
        super().__init__()
        if patience < 1:
            raise ValueError(f"patience must be at least 1. Received: patience={patience}")
        self.checkpoint_dir = Path(checkpoint_dir)
        self.weights_path = self.checkpoint_dir / "best.weights.h5"
        self.state_path = self.checkpoint_dir / "state.json"
        self.patience = patience
        self.history: dict[str, list[float]] = {}
        self.best_epoch: int | None = None
        self.best_value = -math.inf
        self.resumed_from_epoch = 0
        self._started = False

    def on_epoch_begin(self, epoch, logs=None):
        # The first epoch number tells whether BackupAndRestore resumed a run.
        if not self._started:
            self._started = True
            self.resumed_from_epoch = epoch
            if epoch > 0:
                self._restore_state(epoch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if MONITOR not in logs:
            raise RuntimeError(
                f"{MONITOR} missing from the epoch logs; put ValidationMetrics first"
            )
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        if logs[MONITOR] > self.best_value:
            self.best_value = float(logs[MONITOR])
            self.best_epoch = epoch
            self.model.save_weights(self.weights_path, overwrite=True)
        atomic_write_json(
            self.state_path,
            {
                "history": self.history,
                "best_epoch": self.best_epoch,
                "best_value": self.best_value,
            },
        )
        if epoch - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def _restore_state(self, next_epoch: int):
        if not self.state_path.is_file():
            return
        state = json.loads(self.state_path.read_text(encoding="utf-8"))
        # Epochs after the last backup ran but their weights are gone: forget them.
        self.history = {key: values[:next_epoch] for key, values in state["history"].items()}
        if state["best_epoch"] is not None and state["best_epoch"] < next_epoch:
            self.best_epoch = state["best_epoch"]
            self.best_value = state["best_value"]


class LastEpochCheckpoint(BestEpochCheckpoint):
    """Keeps every epoch's weights in turn: without validation the last epoch is the one kept.

    `best_value` stays NaN (nothing was scored).
    """

    def __init__(self, checkpoint_dir):
        super().__init__(checkpoint_dir, patience=1)
        self.weights_path = self.checkpoint_dir / "last.weights.h5"
        self.best_value = math.nan

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.best_epoch = epoch
        self.model.save_weights(self.weights_path, overwrite=True)
        atomic_write_json(
            self.state_path, {"history": self.history, "best_epoch": epoch, "best_value": None}
        )

    def _restore_state(self, next_epoch: int):
        super()._restore_state(next_epoch)
        self.best_value = math.nan


class TrackerLogger(keras.callbacks.Callback):
    """Sends each epoch's logs to a `Tracker` (MLflow), stepped by epoch number."""

    def __init__(self, tracker):
        super().__init__()
        self.tracker = tracker

    def on_epoch_end(self, epoch, logs=None):
        self.tracker.log_metrics(logs or {}, step=epoch + 1)


def _numpy_batches(data):
    """Iterate `(features, labels)` NumPy batches of a `tf.data.Dataset` or any iterable."""
    if hasattr(data, "as_numpy_iterator"):
        return data.as_numpy_iterator()
    return iter(data)


def _steps_per_epoch(data) -> int:
    if hasattr(data, "cardinality"):
        steps = int(data.cardinality())
    else:
        steps = len(data)
    if steps < 1:
        raise ValueError(
            "schedule='cosine' needs a training dataset of known length; "
            f"use schedule='plateau' or a dataset with a cardinality. Received: {steps} steps"
        )
    return steps


def _current_learning_rate(optimizer) -> float:
    rate = optimizer.learning_rate
    return float(keras.ops.convert_to_numpy(rate))
