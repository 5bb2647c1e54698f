"""Keras model -> ONNX graph, on the backend Keras runs on.

`keras.Model.export(format="onnx")` converts through tf2onnx on the TensorFlow
backend and through `torch.onnx` on the torch backend; both give a graph with
a dynamic batch axis. What is exported is the deployment model: the
classifier's softmax probabilities and, when speaker adaptation compares
embeddings, the embeddings too (`graph_outputs`), so the runtime needs nothing
but this graph and numpy.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import keras
import numpy as np
import onnx

from kser.errors import KserBundleError
from kser.inference.speaker_adaptation import embedding_model, suited_graph
from kser.runtime.layout import EMBEDDING_OUTPUT, PROBABILITIES_OUTPUT


def deployment_model(model, adaptation_graph: str | None = None) -> keras.Model:
    """`model` with softmax probabilities out, plus the embeddings speaker adaptation reads.

    Outputs (a dict): `PROBABILITIES_OUTPUT`; with `adaptation_graph="embedding"`,
    `EMBEDDING_OUTPUT` (the input of the "logits" layer); with "members" (an
    ensemble), `EMBEDDING_OUTPUT/<member>` for each member whose suited graph is
    its embedding. Members' embeddings are recomputed from their inputs, as
    nested models expose no inner tensors; the optimised graph shares the work.
    """
    inputs = _input_dict(model)
    logits = model(inputs if isinstance(model.input, dict) else next(iter(inputs.values())))
    outputs = {PROBABILITIES_OUTPUT: keras.layers.Softmax(name="probabilities")(logits)}
    if adaptation_graph == "embedding":
        body = embedding_model(model)
        outputs[EMBEDDING_OUTPUT] = body(next(iter(inputs.values())))
    elif adaptation_graph == "members":
        for member, feature in zip(model.members, model.feature_names, strict=True):
            if suited_graph(member) == "embedding":
                outputs[f"{EMBEDDING_OUTPUT}/{member.name}"] = embedding_model(member)(
                    inputs[feature]
                )
    single = not isinstance(model.input, dict)
    deployment = keras.Model(
        next(iter(inputs.values())) if single else inputs, outputs, name=f"{model.name}_deployment"
    )
    # Keras exports only models that have been called once.
    zeros = {name: np.zeros((1, *x.shape[1:]), "float32") for name, x in inputs.items()}
    deployment(next(iter(zeros.values())) if single else zeros)
    return deployment


def to_onnx(model: keras.Model, path, opset: int = 17) -> Path:
    """Export `model` (see `deployment_model`) to the ONNX file `path`.

    Inputs and outputs keep the model's names; the batch axis is dynamic.
    Raises `KserBundleError` naming the layer or op the converter could not take.
    """
    path = Path(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".onnx-") as staging:
        raw = Path(staging) / "model.onnx"
        try:
            model.export(raw, format="onnx", verbose=False, opset_version=opset)
            graph = onnx.load(raw)
        except Exception as error:  # converters raise many types; name the cause
            raise KserBundleError(
                f"{path}: cannot export {model.name!r} to ONNX on the "
                f"{keras.backend.backend()} backend ({_first_line(error)})"
            ) from None
        unconverted = _unconverted_nodes(graph)
        if unconverted:
            raise KserBundleError(
                f"{path}: cannot export {model.name!r} to ONNX: no ONNX operator for "
                + ", ".join(f"{op} (node {node!r})" for node, op in unconverted)
            )
        # Keras flattens dict outputs in sorted key order, as the converters number them.
        _name_outputs(graph, keras.tree.flatten({key: key for key in model.output}))
        onnx.checker.check_model(graph)
        onnx.save(graph, raw)
        os.replace(raw, path)
    return path


def _unconverted_nodes(graph: onnx.ModelProto) -> list[tuple[str, str]]:
    """`(node name, op)` of nodes the converter left as framework ops (e.g. TensorFlow's RFFT);
    node names carry the Keras layer's name."""
    return [
        (node.name, node.op_type)
        for node in graph.graph.node
        if node.domain in ("", "ai.onnx") and not onnx.defs.has(node.op_type)
    ]


def _input_dict(model) -> dict:
    """Fresh `keras.Input`s named and shaped like `model`'s inputs."""
    return {
        tensor.name: keras.Input(shape=tensor.shape[1:], name=tensor.name)
        for tensor in model.inputs
    }


def _name_outputs(graph: onnx.ModelProto, names: list[str]) -> None:
    """Rename the graph's outputs to `names` (converters number them)."""
    renames = {}
    for output, name in zip(graph.graph.output, names, strict=True):
        renames[output.name] = name
        output.name = name
    for node in graph.graph.node:
        node.output[:] = [renames.get(name, name) for name in node.output]
        node.input[:] = [renames.get(name, name) for name in node.input]


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"
