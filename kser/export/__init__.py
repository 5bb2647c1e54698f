"""ONNX export of trained bundles: conversion, feature front ends, INT8, graph optimisation.

    from kser.export import export_bundle
    export_bundle(load_bundle("runs/x/bundle"), "exported/", quantization="dynamic")

The exported directory is served by `kser.runtime` (onnxruntime and numpy,
no TensorFlow); docs/deploy.md gives the measured parity, sizes and latency.
Names are imported on first use, so `kser export --help` stays fast.
"""

from kser.lazy import lazy_attributes

# name -> the submodule that defines it.
_EXPORTS = {
    "export_bundle": "exporter",
    "calibration_features": "exporter",
    "deployment_model": "convert",
    "to_onnx": "convert",
    "QUANTIZATIONS": "quantize",
    "OPTIMISATIONS": "optimize",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_attributes(__name__, _EXPORTS)
