"""Prediction shared by trained bundles (Keras) and exported ones (onnxruntime).

numpy and soundfile only: `kser.runtime` serves exports with it where
TensorFlow is not installed.
"""
