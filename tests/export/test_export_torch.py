"""Keras -> ONNX through torch.onnx, under the torch backend, in a subprocess."""

import re

import pytest

from tests.export.torch_export_checks import TORCH_CASES
from tests.helpers import run_under_torch

pytest.importorskip("torch", reason="the torch backend needs torch (pip install kser[torch])")


def test_models_and_the_ensemble_export_under_torch_with_keras_probabilities(tmp_path):
    stdout = run_under_torch("tests.export.torch_export_checks", tmp_path)
    gaps = dict(re.findall(r"torch export (\S+): (\S+)", stdout))
    assert sorted(gaps) == sorted([case[0] for case in TORCH_CASES] + ["ensemble"])
    assert all(float(gap) <= 1e-4 for gap in gaps.values()), gaps
