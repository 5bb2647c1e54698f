"""Exact resumption: an interrupted, then resumed `train` ends where an uninterrupted one does."""

from __future__ import annotations

import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from kser.training import train
from kser.training.resume import STATE_FILE, backed_up_epoch, skip_epochs
from tests.helpers import REPO_ROOT
from tests.training.helpers import synthetic_batches, tiny_classifier

STOP_AT = 2


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == STOP_AT:
            raise KeyboardInterrupt


def _train(run_dir, schedule, callbacks=()):
    """A 5-epoch fit of the dropout classifier on reshuffled batches; `(result, weights)`."""
    model = tiny_classifier()
    result = train(
        model,
        synthetic_batches(shuffle=True),
        synthetic_batches(seed=1),
        run_dir=run_dir,
        epochs=5,
        schedule=schedule,
        patience=4,
        callbacks=callbacks,
        verbose=0,
    )
    return result, model.get_weights()


@pytest.mark.parametrize("schedule", ["cosine", "plateau"])
def test_a_resumed_run_repeats_the_uninterrupted_one_to_the_last_digit(tmp_path, schedule, capsys):
    reference, reference_weights = _train(tmp_path / "whole", schedule)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "resumed", schedule, callbacks=[_Interrupt()])
    assert backed_up_epoch(tmp_path / "resumed" / "checkpoints") == STOP_AT
    assert (tmp_path / "resumed" / "checkpoints" / STATE_FILE).is_file()

    resumed, resumed_weights = _train(tmp_path / "resumed", schedule)
    assert resumed.resumed_from_epoch == STOP_AT
    # Every epoch's loss (dropout, batch order) and every validation score are the same.
    assert resumed.history == reference.history
    assert resumed.best_epoch == reference.best_epoch
    for resumed_array, reference_array in zip(resumed_weights, reference_weights, strict=True):
        np.testing.assert_array_equal(resumed_array, reference_array)
    assert capsys.readouterr().out == ""  # verbose=0 says nothing, even when resuming


def test_a_resumed_run_says_so(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        train(
            tiny_classifier(),
            synthetic_batches(),
            synthetic_batches(seed=1),
            run_dir=tmp_path,
            epochs=3,
            callbacks=[_Interrupt()],
            verbose=0,
        )
    train(
        tiny_classifier(),
        synthetic_batches(),
        synthetic_batches(seed=1),
        run_dir=tmp_path,
        epochs=3,
        verbose=2,
    )
    printed = capsys.readouterr().out
    assert f"kser: resuming {tmp_path / 'checkpoints'} after epoch 2 of 3" in printed


def test_skipping_epochs_advances_the_shuffle_as_fit_does():
    def order(dataset):
        return np.concatenate(list(dataset.as_numpy_iterator())).tolist()

    def shuffled():
        return tf.data.Dataset.range(8).shuffle(8, seed=3, reshuffle_each_iteration=True).batch(4)

    dataset = shuffled()
    orders = [order(dataset) for _ in range(6)]
    fresh = shuffled()
    skip_epochs(fresh, 2)  # fit makes two iterators per epoch of a dataset of known length
    assert order(fresh) == orders[4] != orders[0]


def test_a_resumed_run_is_exact_under_torch_too():
    pytest.importorskip("torch", reason="the torch backend needs torch (pip install kser[torch])")
    # KERAS_BACKEND is read when keras is imported: the same test, in a torch subprocess.
    test = "tests/training/test_resume.py::test_a_resumed_run_repeats_the_uninterrupted_one"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "plateau",
         test + "_to_the_last_digit"],
        cwd=REPO_ROOT,
        env={**os.environ, "KERAS_BACKEND": "torch"},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    assert "1 passed" in result.stdout
