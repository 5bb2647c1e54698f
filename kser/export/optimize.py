"""Offline graph optimisation of an exported ONNX file.

"slim": onnxslim (constant folding, dead-node removal, operator fusion; the
result is plain ONNX). "ort": onnxruntime's own offline optimisation at the
extended level (its fused operators, so the file then needs onnxruntime).
"none": as converted. docs/deploy.md compares them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import onnx

OPTIMISATIONS = ("none", "slim", "ort")


def optimise(path, mode: str) -> Path:
    """Optimise the ONNX file `path` in place (atomically) as `mode` says."""
    if mode not in OPTIMISATIONS:
        raise ValueError(f"mode must be one of {OPTIMISATIONS}. Received: mode={mode!r}")
    path = Path(path)
    if mode == "none":
        return path
    handle, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".onnx")
    os.close(handle)
    try:
        if mode == "slim":
            import onnxslim

            onnx.save(onnxslim.slim(onnx.load(path)), staging)
        else:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.graph_optimization_level = (
                onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            )
            options.optimized_model_filepath = staging
            onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        os.replace(staging, path)
    finally:
        if os.path.exists(staging):
            os.remove(staging)
    return path
