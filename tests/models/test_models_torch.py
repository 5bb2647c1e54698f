"""Every architecture under torch, and TensorFlow-saved models loaded under torch.

KERAS_BACKEND is read when keras is imported, so torch runs in one
subprocess for all models (one import instead of one per model).
"""

import keras
import numpy as np
import pytest

from tests.helpers import run_under_torch
from tests.models.model_checks import TINY_CASES, build_tiny_model, predict, tiny_batch

pytest.importorskip("torch", reason="the torch backend needs torch (pip install kser[torch])")


def test_models_pass_shared_checks_under_torch_and_load_tensorflow_saves(tmp_path):
    assert keras.backend.backend() == "tensorflow"
    for case in TINY_CASES:
        model = build_tiny_model(case)
        x, _ = tiny_batch(case, seed=1)
        model.save(tmp_path / f"{case[0]}.keras")
        np.savez(tmp_path / f"{case[0]}.npz", x=x, y=predict(model, x))

    stdout = run_under_torch("tests.models.torch_backend_checks", tmp_path)
    for case in TINY_CASES:
        assert f"tensorflow -> torch outputs match: {case[0]}" in stdout
