"""Explanation methods under the torch backend (a script, not a test module).

    KERAS_BACKEND=torch python -m tests.xai.torch_explain_checks DIRECTORY

DIRECTORY holds `band_model.keras` (trained under TensorFlow) and `maps.npz`
with the inputs `x`, targets `y` and each method's TensorFlow maps. Under
torch, Grad-CAM and SmoothGrad (autograd), integrated gradients, LIME and both
LRP rules must give the same maps; Grad-CAM++ must refuse with its reason.
Exits non-zero on the first failure.
"""

import sys
from pathlib import Path

import keras
import numpy as np

from kser.errors import KserExplainError
from kser.xai.methods import attribute
from kser.xai.segments import input_segmentation
from tests.xai.band_task import GRID, N_BINS, N_FRAMES

SAME_ON_BOTH = ("gradcam", "saliency", "ig", "lime", "lrp", "lrp_ab")


def main(directory):
    directory = Path(directory)
    assert keras.backend.backend() == "torch", keras.backend.backend()
    model = keras.saving.load_model(directory / "band_model.keras")
    saved = np.load(directory / "maps.npz")
    x, y = saved["x"], saved["y"]
    segmentation = input_segmentation(GRID, (N_BINS, N_FRAMES))
    for method in SAME_ON_BOTH:
        maps = attribute(method, model, x, y, segmentation=segmentation)
        scale = np.abs(saved[method]).max()
        np.testing.assert_allclose(maps, saved[method], atol=1e-3 * scale, err_msg=method)
        print(f"torch maps match tensorflow: {method}", flush=True)
    try:
        attribute("gradcam_pp", model, x, y)
    except KserExplainError as error:
        assert "TensorFlow" in str(error)
        print("torch gradcam_pp refused", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
