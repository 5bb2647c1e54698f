"""Export under the torch backend (run as `python -m tests.export.torch_export_checks DIR`).

KERAS_BACKEND is read when Keras is imported, so the torch export runs in a
subprocess; it prints one line per model with the largest probability gap.
"""

import sys

import keras
import numpy as np
import onnxruntime

from kser.export import deployment_model, to_onnx
from tests.models.model_checks import TINY_CASES, build_tiny_model, tiny_batch
from tests.models.weighted_ensemble_checks import tiny_ensemble, tiny_inputs

# The recurrent model takes half a minute to trace under torch; the TensorFlow test covers it.
TORCH_CASES = [case for case in TINY_CASES if case[0] != "parallel_conv_bilstm"]


def largest_gap(model, graph, feeds, inputs, path):
    deployment = deployment_model(model, graph)
    to_onnx(deployment, path)
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, feeds), strict=True))
    expected = deployment.predict(inputs, verbose=0)
    return max(float(np.max(np.abs(outputs[name] - expected[name]))) for name in names)


def main(directory):
    assert keras.backend.backend() == "torch"
    for case in TORCH_CASES:
        model = build_tiny_model(case)
        x = np.concatenate([tiny_batch(case, seed)[0] for seed in range(3)])
        graph = "embedding" if any(layer.name == "logits" for layer in model.layers) else "input"
        gap = largest_gap(model, graph, {"features": x}, x, f"{directory}/{case[0]}.onnx")
        print(f"torch export {case[0]}: {gap:.3g}", flush=True)
    inputs = tiny_inputs(batch=5)
    gap = largest_gap(tiny_ensemble(), "members", inputs, inputs, f"{directory}/ensemble.onnx")
    print(f"torch export ensemble: {gap:.3g}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
