"""The explanation methods under torch give TensorFlow's maps (in a subprocess: the
backend is fixed when keras is imported)."""

from __future__ import annotations

import numpy as np
import pytest

from kser.xai.methods import attribute
from kser.xai.segments import input_segmentation
from tests.helpers import run_under_torch
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
    stdout = run_under_torch("tests.xai.torch_explain_checks", tmp_path)
    for method in SAME_ON_BOTH:
        assert f"torch maps match tensorflow: {method}" in stdout
    assert "torch gradcam_pp refused" in stdout
