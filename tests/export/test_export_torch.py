"""Keras -> ONNX through torch.onnx, under the torch backend, in a subprocess."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.export.torch_export_checks import TORCH_CASES

pytest.importorskip("torch", reason="the torch backend needs torch (pip install kser[torch])")


def test_models_and_the_ensemble_export_under_torch_with_keras_probabilities(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tests.export.torch_export_checks", str(tmp_path)],
        cwd=REPO_ROOT,
        env={**os.environ, "KERAS_BACKEND": "torch"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    gaps = dict(re.findall(r"torch export (\S+): (\S+)", result.stdout))
    assert sorted(gaps) == sorted([case[0] for case in TORCH_CASES] + ["ensemble"])
    assert all(float(gap) <= 1e-4 for gap in gaps.values()), gaps
