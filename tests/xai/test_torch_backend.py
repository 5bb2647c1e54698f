"""The explanation methods under torch give TensorFlow's maps (in a subprocess: the
backend is fixed when keras is imported)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from kser.xai.methods import attribute
from kser.xai.segments import input_segmentation
from tests.conftest import REPO_ROOT
from tests.xai.band_task import GRID, N_BINS, N_FRAMES, band_inputs, train_band_model
from tests.xai.torch_explain_checks import SAME_ON_BOTH

pytest.importorskip("torch", reason="the torch backend needs torch (pip install kser[torch])")


def test_torch_maps_match_tensorflow_maps(tmp_path):
    model = train_band_model(seed=0)
    x, y = band_inputs(2, seed=2)
    segmentation = input_segmentation(GRID, (N_BINS, N_FRAMES))
    maps = {m: attribute(m, model, x, y, segmentation=segmentation) for m in SAME_ON_BOTH}
    model.save(tmp_path / "band_model.keras")
    np.savez(tmp_path / "maps.npz", x=x, y=y, **maps)
    result = subprocess.run(
        [sys.executable, "-m", "tests.xai.torch_explain_checks", str(tmp_path)],
        cwd=REPO_ROOT,
        env={**os.environ, "KERAS_BACKEND": "torch"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    for method in SAME_ON_BOTH:
        assert f"torch maps match tensorflow: {method}" in result.stdout
    assert "torch gradcam_pp refused" in result.stdout
