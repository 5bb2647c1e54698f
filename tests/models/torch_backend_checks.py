"""Run the shared model checks under the torch backend (a script, not a test module).

    KERAS_BACKEND=torch python -m tests.models.torch_backend_checks DIRECTORY

DIRECTORY holds `<case>.keras` models saved under TensorFlow and
`<case>.npz` files with their inputs `x` and logits `y`. Every tiny case
passes the shared checks under torch, then every saved model must give the
same logits under torch (atol 1e-4). Exits non-zero on the first failure.
"""

import sys
from pathlib import Path

import keras
import numpy as np

from tests.models.model_checks import TINY_CASES, predict, run_model_checks

CROSS_BACKEND_ATOL = 1e-4


def main(directory):
    directory = Path(directory)
    assert keras.backend.backend() == "torch", keras.backend.backend()
    torch_directory = directory / "torch"
    torch_directory.mkdir(exist_ok=True)
    for case in TINY_CASES:
        run_model_checks(case, torch_directory)
        print(f"torch checks passed: {case[0]}", flush=True)
    for case in TINY_CASES:
        saved = np.load(directory / f"{case[0]}.npz")
        model = keras.saving.load_model(directory / f"{case[0]}.keras")
        np.testing.assert_allclose(predict(model, saved["x"]), saved["y"], atol=CROSS_BACKEND_ATOL)
        print(f"tensorflow -> torch outputs match: {case[0]}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
