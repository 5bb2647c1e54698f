"""A trained bundle -> an exported directory that `kser.runtime` serves without TensorFlow.

See `kser.runtime.layout` for the files. Each input's feature front end goes
into its own ONNX graph where its ops allow (`kser.export.frontend`), else
into the numpy front end's description (`kser.export.numpy_front_end`); its
parity with the TensorFlow extractor on a test signal is measured at export
and recorded. The classifier becomes model.onnx (probabilities, plus the
embeddings speaker adaptation reads), optimised and optionally INT8.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime
import tf2onnx

from kser import features
from kser.errors import KserError
from kser.export.convert import deployment_model, to_onnx
from kser.export.frontend import FrontEndError, front_end_function
from kser.export.numpy_front_end import write_numpy_front_end
from kser.export.optimize import optimise
from kser.export.quantize import QUANTIZATIONS, quantize
from kser.inference.bundle import _kser_version, _replace_directory
from kser.inference.speaker_adaptation import suited_graph
from kser.paths import atomic_write_json
from kser.runtime import layout
from kser.runtime.features import load_numpy_extractor

# A front end whose ONNX output differs from the TensorFlow extractor's by more
# than this (in feature units, relative to the features' range) is not used.
FRONT_END_TOLERANCE = 1e-3


def export_bundle(
    bundle,
    directory,
    *,
    quantization: str = "none",
    opset: int = 17,
    optimisation: str = "slim",
    calibration: dict[str, np.ndarray] | None = None,
    front_ends: bool = True,
) -> Path:
    """Export `bundle` (a `kser.training.Bundle`) into `directory`, replacing it atomically.

    `quantization`: one of `QUANTIZATIONS`; "static" needs `calibration`,
    normalized training features keyed by the model's input names
    (`calibration_features`). `front_ends=False` keeps every feature outside
    ONNX. Returns the directory.
    """
    if quantization not in QUANTIZATIONS:
        raise KserError(f"quantization must be one of {QUANTIZATIONS}. Received: {quantization!r}")
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.tmp-"))
    try:
        description = _describe(bundle, quantization, opset, optimisation)
        model_path = staging / layout.MODEL_FILE
        # The suited graph's embeddings are always exported, so adaptation can be switched on.
        to_onnx(deployment_model(bundle.model, suited_graph(bundle.model)), model_path, opset)
        optimise(model_path, optimisation)
        if quantization != "none":
            quantize(model_path, model_path, quantization, calibration)
        for input_name, extractor in bundle.extractors.items():
            description["inputs"][input_name]["front_end"] = (
                _export_front_end(extractor, bundle.clip_samples, staging, input_name, opset)
                if front_ends
                else {"runs_in": layout.FRONT_END_TENSORFLOW, "reason": "not requested"}
            )
        for input_name in bundle.extractors:
            bundle.normalizers[input_name].save(
                staging / layout.normalizer_file(_normalizer_key(bundle, input_name))
            )
        if bundle.directory is not None and (Path(bundle.directory) / layout.SPLIT_FILE).is_file():
            shutil.copy2(Path(bundle.directory) / layout.SPLIT_FILE, staging / layout.SPLIT_FILE)
        _write_metadata(model_path, description)
        atomic_write_json(staging / layout.EXPORT_FILE, description)
        _replace_directory(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def calibration_features(bundle, corpus, rows, cache_root=None) -> dict[str, np.ndarray]:
    """Normalized features of `corpus`'s `rows` (training clips), keyed by model input name.

    Features are those of the whole corpus, so the cache its training filled is reused.
    """
    from kser.features.pipeline import extract_features

    rows = np.asarray(rows)
    speakers = corpus.manifest["speaker"].astype(str).to_numpy()[rows]
    calibration = {}
    for input_name, extractor in bundle.extractors.items():
        raw = extract_features(
            corpus.manifest, extractor, clip_seconds=bundle.clip_seconds, cache_root=cache_root
        ).as_numpy()[rows]
        calibration[input_name] = bundle.normalizers[input_name].transform(raw, speakers)
    return calibration


def _describe(bundle, quantization: str, opset: int, optimisation: str) -> dict:
    adaptation = bundle.speaker_adaptation
    inputs = {}
    for input_name, extractor in bundle.extractors.items():
        normalizer = bundle.normalizers[input_name]
        inputs[input_name] = {
            "feature": {
                "name": extractor.name,
                "params": extractor.params,
                "code_version": features.FEATURE_CODE_VERSION,
            },
            "normalization": normalizer.spec,
            "normalizer_file": layout.normalizer_file(_normalizer_key(bundle, input_name)),
        }
    return {
        "format": layout.EXPORT_FORMAT,
        "kser_version": _kser_version(),
        "exported_with": f"keras {keras.__version__} ({keras.backend.backend()}), "
        f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}",
        "labels": list(bundle.labels),
        "sample_rate": bundle.sample_rate,
        "clip_seconds": float(bundle.clip_seconds),
        "inputs": inputs,
        "single_input": bundle.single_input,
        "speaker_adaptation": None if adaptation is None else adaptation.to_dict(),
        "suited_graph": suited_graph(bundle.model),
        "graph_vectors": _graph_vectors(bundle.model),
        "opset": opset,
        "quantization": quantization,
        "optimisation": optimisation,
        "source_bundle": None if bundle.directory is None else str(bundle.directory),
        "model": {k: bundle.info[k] for k in ("model", "protocol") if k in bundle.info},
    }


def _graph_vectors(model) -> dict | None:
    """For an ensemble, `{key: "output:<name>" | "input:<name>"}`: the vectors adaptation on
    its members joins, as `kser.inference.speaker_adaptation.graph_vectors` does."""
    if suited_graph(model) != "members":
        return None
    vectors = {}
    for member, feature in zip(model.members, model.feature_names, strict=True):
        if suited_graph(member) == "embedding":
            vectors[member.name] = f"output:{layout.EMBEDDING_OUTPUT}/{member.name}"
        else:
            vectors[feature] = f"input:{feature}"
    return vectors


def _export_front_end(extractor, n_samples, staging, input_name, opset) -> dict:
    """Write features.<input>.onnx if the extractor converts and matches, else
    features.<input>.npz if its numpy version matches; say where it runs."""
    waves = _test_signal(extractor.params["sample_rate"], n_samples)
    expected = keras.ops.convert_to_numpy(extractor(waves))
    path = staging / layout.front_end_file(input_name)
    try:
        function, signature = front_end_function(extractor, n_samples)
        tf2onnx.convert.from_function(
            function, input_signature=(signature,), opset=opset, output_path=str(path)
        )
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        actual = session.run(None, {layout.WAVEFORM_INPUT: waves})[0]
    except Exception as error:  # FrontEndError, or any converter/runtime failure
        path.unlink(missing_ok=True)
        not_onnx = _reason(error)
    else:
        placed = _placed(layout.FRONT_END_ONNX, path, expected, actual)
        if placed["runs_in"] == layout.FRONT_END_ONNX:
            return placed
        not_onnx = placed["reason"]
    path = staging / layout.numpy_front_end_file(input_name)
    try:
        write_numpy_front_end(extractor, path)
        actual = load_numpy_extractor(path)(waves)
    except (FrontEndError, KserError) as error:
        path.unlink(missing_ok=True)
        return {"runs_in": layout.FRONT_END_TENSORFLOW, "reason": f"{not_onnx}; {error}"}
    return {**_placed(layout.FRONT_END_NUMPY, path, expected, actual), "not_in_onnx": not_onnx}


def _placed(runs_in: str, path: Path, expected: np.ndarray, actual: np.ndarray) -> dict:
    """Where a front end runs: `runs_in` from `path` if it matches the TensorFlow extractor."""
    difference = float(np.max(np.abs(expected - actual)))
    scale = float(np.ptp(expected)) or 1.0
    if not difference <= FRONT_END_TOLERANCE * scale:
        path.unlink()
        return {
            "runs_in": layout.FRONT_END_TENSORFLOW,
            "reason": f"{runs_in} front end differs by {difference:.3g} (range {scale:.3g})",
        }
    return {"runs_in": runs_in, "file": path.name, "max_abs_diff_on_test_signal": difference}


def _test_signal(sample_rate: int, n_samples: int) -> np.ndarray:
    """A voiced-like tone with harmonics and a noise burst, and quiet noise: 2 clips."""
    rng = np.random.default_rng(0)
    t = np.arange(n_samples) / sample_rate
    tone = sum(0.2 / k * np.sin(2 * np.pi * 180 * k * t) for k in range(1, 6))
    tone[n_samples // 2 : n_samples // 2 + n_samples // 10] += 0.1 * rng.standard_normal(
        n_samples // 10
    )
    noise = 0.01 * rng.standard_normal(n_samples)
    return np.stack([tone, noise]).astype("float32")


def _write_metadata(path: Path, description: dict) -> None:
    """Record the description in the graph's `metadata_props` (one JSON entry and a few keys)."""
    graph = onnx.load(path)
    entries = {
        "kser": json.dumps(description),
        "kser_version": description["kser_version"],
        "kser_format": description["format"],
        "labels": json.dumps(description["labels"]),
        "sample_rate": str(description["sample_rate"]),
        "clip_seconds": str(description["clip_seconds"]),
    }
    del graph.metadata_props[:]
    for key, value in entries.items():
        graph.metadata_props.add(key=key, value=value)
    graph.producer_name = "kser"
    graph.producer_version = description["kser_version"]
    onnx.save(graph, path)


def _normalizer_key(bundle, input_name: str) -> str | None:
    """The name of `input_name`'s normalizer file in an export: by no name (None,
    normalizer.json) for a single-input bundle."""
    return None if bundle.single_input else input_name


def _reason(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]
