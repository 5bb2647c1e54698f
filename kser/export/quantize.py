"""INT8 quantization of an exported graph with `onnxruntime.quantization`.

"dynamic": weights stored as int8, activations quantized on the fly per batch
(no data needed). "static": weights and activations int8 (QDQ format), the
activation ranges calibrated on training clips' normalized features.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_dynamic,
    quantize_static,
)

from kser.errors import KserBundleError

QUANTIZATIONS = ("none", "dynamic", "static")
# Calibration feeds this many clips per run of the fp32 graph.
_CALIBRATION_BATCH = 16


class FeatureBatches(CalibrationDataReader):
    """Calibration data: `{input name: (batch, ...) float32}` feeds of `features`."""

    def __init__(self, features: dict[str, np.ndarray]):
        n = len(next(iter(features.values())))
        self._feeds = iter(
            [
                {
                    name: values[start : start + _CALIBRATION_BATCH]
                    for name, values in features.items()
                }
                for start in range(0, n, _CALIBRATION_BATCH)
            ]
        )

    def get_next(self):
        return next(self._feeds, None)


def quantize(source, target, mode: str, calibration: dict[str, np.ndarray] | None = None) -> Path:
    """Write the INT8 version of the ONNX graph `source` to `target`.

    `calibration` (static only): normalized training features, keyed by input name.
    """
    if mode not in QUANTIZATIONS[1:]:
        raise ValueError(f"mode must be 'dynamic' or 'static'. Received: mode={mode!r}")
    target = Path(target)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".quantize-") as staging:
        prepared = Path(staging) / "prepared.onnx"
        # Shape inference and folding first, as onnxruntime recommends before quantizing.
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=False)
        if mode == "dynamic":
            quantize_dynamic(prepared, target, weight_type=QuantType.QInt8, per_channel=True)
            return target
        if not calibration:
            raise KserBundleError(f"{target}: static quantization needs calibration features")
        # int8 probabilities would step by 1/127: the softmax stays in float.
        softmax = [
            node.name for node in onnx.load(prepared).graph.node if node.op_type == "Softmax"
        ]
        quantize_static(
            prepared,
            target,
            FeatureBatches(calibration),
            nodes_to_exclude=softmax,
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"ActivationSymmetric": True},
        )
    return target
