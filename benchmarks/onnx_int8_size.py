"""Where the bytes of an INT8 model.onnx go: int8 weights, fp32 left-overs, the graph itself.

    python benchmarks/onnx_int8_size.py audio_resnet --width 0.5
    python benchmarks/onnx_int8_size.py cnn3

Builds the kser model (untrained: sizes do not depend on training) on 64 x 301
mel, exports it as `kser export` does (tf2onnx, onnxslim) and quantizes it
dynamically. Prints the file sizes and their ratio, the int8 weights against
the fp32 ones, the bytes of initializers by dtype, the graph's own bytes
(nodes, names, shapes), and the ratio both files would have with tensor names
shortened and shapes dropped (outputs checked identical).
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper

from kser.export import deployment_model, to_onnx
from kser.export.optimize import optimise
from kser.export.quantize import quantize
from kser.inference.speaker_adaptation import suited_graph
from kser.models import build_model


def initializer_bytes(graph) -> dict[str, int]:
    sizes = collections.Counter()
    for initializer in graph.graph.initializer:
        array = numpy_helper.to_array(initializer)
        sizes[str(array.dtype)] += array.nbytes
    return dict(sizes)


def shortened(source: Path, target: Path) -> Path:
    """`source` with internal tensor names as short ids, node names and shapes dropped."""
    graph = onnx.load(source)
    kept = {v.name for v in graph.graph.input} | {v.name for v in graph.graph.output}
    names: dict[str, str] = {}

    def short(name):
        if not name or name in kept:
            return name
        return names.setdefault(name, format(len(names), "x"))

    for initializer in graph.graph.initializer:
        initializer.name = short(initializer.name)
    for node in graph.graph.node:
        node.name = ""
        node.input[:] = [short(name) for name in node.input]
        node.output[:] = [short(name) for name in node.output]
    del graph.graph.value_info[:]
    onnx.save(graph, target)
    return target


def outputs(path: Path, features: np.ndarray):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: features})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--width", type=float, default=None)
    args = parser.parse_args()
    options = {} if args.width is None else {"width": args.width}
    model = build_model(args.model, (64, 301), num_classes=6, **options)
    with tempfile.TemporaryDirectory() as scratch:
        fp32, int8 = Path(scratch) / "fp32.onnx", Path(scratch) / "int8.onnx"
        to_onnx(deployment_model(model, suited_graph(model)), fp32, 17)
        optimise(fp32, "slim")
        quantize(fp32, int8, "dynamic")
        size = {path: os.path.getsize(path) for path in (fp32, int8)}
        weights = {path: initializer_bytes(onnx.load(path)) for path in (fp32, int8)}
        short = {path: shortened(path, path.with_suffix(".short.onnx")) for path in (fp32, int8)}
        features = np.random.default_rng(0).normal(size=(2, 64, 301)).astype("float32")
        same = all(
            np.array_equal(a, b)
            for a, b in zip(outputs(int8, features), outputs(short[int8], features), strict=True)
        )
        short_size = {path: os.path.getsize(short[path]) for path in (fp32, int8)}
    print(
        f"{args.model} {options}: fp32 {size[fp32]:,} B, INT8 {size[int8]:,} B, "
        f"ratio {size[int8] / size[fp32]:.4f}"
    )
    print(f"int8 weights / fp32 weights: {weights[int8]['int8'] / weights[fp32]['float32']:.4f}")
    for path, name in ((fp32, "fp32"), (int8, "INT8")):
        graph_bytes = size[path] - sum(weights[path].values())
        print(f"{name}: initializers {weights[path]}, graph {graph_bytes:,} B")
    print(
        f"names shortened and shapes dropped in both: fp32 {short_size[fp32]:,} B, INT8 "
        f"{short_size[int8]:,} B, ratio {short_size[int8] / short_size[fp32]:.4f} "
        f"(outputs identical: {same})"
    )


if __name__ == "__main__":
    main()
