"""Exact resumption: what an interrupted `train` needs beyond weights and optimizer state.

`keras.callbacks.BackupAndRestore` saves the weights, the optimizer's state
(its step, so the cosine schedule too) and the epoch. A resumed fit would
still differ from an uninterrupted one in three ways, each fixed here:

- dropout and other random layers draw from `keras.random.SeedGenerator`
  states, which `save_weights` leaves out, or (torch, unseeded dropout) from
  torch's global generator: `TrainingStateCheckpoint` saves them after every
  epoch and restores them;
- callbacks with counters (`ReduceLROnPlateau`'s wait, best value and
  cooldown) start afresh: saved and restored alike;
- a `tf.data` pipeline reshuffles (and re-salts its augmentation) each time
  it is iterated: `skip_epochs` makes a fresh pipeline advance past the
  epochs already run, without reading them.

With these, an interrupted-then-resumed run on CPU gives the uninterrupted
run's numbers to the last digit.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from kser.paths import atomic_write_json

STATE_FILE = "training_state.json"
BACKUP_DIR = "backup"
# The attributes of a callback that carry state from one epoch to the next.
_CALLBACK_STATE = {keras.callbacks.ReduceLROnPlateau: ("wait", "best", "cooldown_counter")}


def backed_up_epoch(checkpoint_dir) -> int:
    """The number of epochs the backup in `checkpoint_dir` holds (0: a fresh start)."""
    path = Path(checkpoint_dir) / BACKUP_DIR / "training_metadata.json"
    if not path.is_file():
        return 0
    return int(json.loads(path.read_text(encoding="utf-8"))["epoch"])


def skip_epochs(train_data, epochs: int) -> None:
    """Advance a `tf.data` pipeline's per-iteration randomness by `epochs` epochs of `fit`.

    Making an iterator draws the iteration's shuffle and random seeds; nothing
    is read from it. `Model.fit` (without `steps_per_epoch`) makes a fresh
    iterator each epoch and, on TensorFlow for a dataset of known length, one
    more at the end of each epoch that it never reads; torch's data loader
    makes that one only when it is read (checked by the resume tests on both
    backends). Other iterables hold no such state and are left alone.
    """
    if not hasattr(train_data, "element_spec"):
        return
    known_length = int(train_data.cardinality()) > 0
    per_epoch = 2 if known_length and keras.backend.backend() == "tensorflow" else 1
    for _ in range(epochs * per_epoch):
        iter(train_data)


class TrainingStateCheckpoint(keras.callbacks.Callback):
    """Saves, after each epoch, the random-layer and callback state `BackupAndRestore` misses.

    Place it after the callbacks it saves (they reset themselves when
    training begins) and before `BackupAndRestore`. The state of the last two
    epochs is kept, so that an interruption between this file and the backup
    still finds the state of the epoch the backup holds.
    """

    def __init__(self, checkpoint_dir, callbacks=(), resume_epoch: int = 0):
        super().__init__()
        self.path = Path(checkpoint_dir) / STATE_FILE
        self.stateful = [c for c in callbacks if type(c) in _CALLBACK_STATE]
        self.resume_epoch = resume_epoch

    def on_train_begin(self, logs=None):
        if not self.resume_epoch:
            return
        state = self._saved().get(str(self.resume_epoch))
        if state is None:
            raise RuntimeError(
                f"{self.path}: no training state for epoch {self.resume_epoch}, "
                "which the backup resumes from"
            )
        for variable, value in zip(_seed_states(self.model), state["seeds"], strict=True):
            variable.assign(np.asarray(value, dtype=variable.dtype))
        for callback, values in zip(self.stateful, state["callbacks"], strict=True):
            for name, value in values.items():
                setattr(callback, name, value)
        if state.get("torch_generator") is not None:
            import torch

            torch.set_rng_state(torch.tensor(state["torch_generator"], dtype=torch.uint8))

    def on_epoch_end(self, epoch, logs=None):
        saved = self._saved()
        saved[str(epoch + 1)] = {
            "seeds": [
                keras.ops.convert_to_numpy(variable).tolist()
                for variable in _seed_states(self.model)
            ],
            "callbacks": [
                {name: _plain(getattr(callback, name)) for name in _CALLBACK_STATE[type(callback)]}
                for callback in self.stateful
            ],
            "torch_generator": _torch_generator_state(),
        }
        latest = sorted(saved, key=int)[-2:]
        atomic_write_json(self.path, {key: saved[key] for key in latest})

    def _saved(self) -> dict:
        if not self.path.is_file():
            return {}
        return json.loads(self.path.read_text(encoding="utf-8"))


def _seed_states(model) -> list:
    """The state variables of every `SeedGenerator` of `model`'s layers, in layer order."""
    return [
        generator.state
        for layer in model._flatten_layers()
        for generator in getattr(layer, "_seed_generators", ())
    ]


def _torch_generator_state() -> list[int] | None:
    """torch's global generator state (unseeded dropout draws from it); None on TensorFlow."""
    if keras.backend.backend() != "torch":
        return None
    import torch

    return torch.get_rng_state().tolist()


def _plain(value):
    """A callback attribute as JSON: NumPy and backend scalars become Python numbers."""
    if value is None or isinstance(value, int | float | str):
        return value
    return float(keras.ops.convert_to_numpy(value))
