"""`kser export BUNDLE --out DIR`: the command-line face of `kser.export.export_bundle`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kser.errors import KserError

# Static quantization calibrates on this many training clips by default.
CALIBRATION_CLIPS = 256


def add_arguments(parser) -> None:
    parser.add_argument(
        "bundle", metavar="BUNDLE", help="trained-model bundle (or its run directory)"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to export into")
    parser.add_argument(
        "--quantize",
        choices=("none", "dynamic", "static"),
        default="none",
        help="INT8: dynamic (weights), static (weights and activations, calibrated on "
        "training clips; needs --data) (default: none, fp32)",
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    parser.add_argument(
        "--optimize",
        choices=("slim", "ort", "none"),
        default="slim",
        help="graph optimisation: onnxslim, onnxruntime offline, or none (default: slim)",
    )
    parser.add_argument("--data", help="the training corpus, for --quantize static")
    parser.add_argument(
        "--calibration-clips",
        type=int,
        default=CALIBRATION_CLIPS,
        metavar="N",
        help=f"training clips to calibrate static INT8 on (default: {CALIBRATION_CLIPS})",
    )
    parser.add_argument(
        "--no-front-end",
        action="store_true",
        help="keep every feature extractor out of ONNX (the runtime then needs TensorFlow)",
    )


def run(args) -> None:
    from kser.baselines import require_keras_model
    from kser.export.exporter import calibration_features, export_bundle
    from kser.training import load_bundle

    bundle = load_bundle(args.bundle)
    require_keras_model(bundle, "kser export")
    calibration = None
    if args.quantize == "static":
        if not args.data:
            raise KserError("--quantize static calibrates on training clips: pass --data CORPUS")
        from kser.data import load_corpus

        corpus = load_corpus(args.data)
        rows = bundle.split_rows(corpus, "train")
        if len(rows) > args.calibration_clips:
            rng = np.random.default_rng(0)
            rows = np.sort(rng.choice(rows, args.calibration_clips, replace=False))
        calibration = calibration_features(bundle, corpus, rows)
    directory = export_bundle(
        bundle,
        args.out,
        quantization=args.quantize,
        opset=args.opset,
        optimisation=args.optimize,
        calibration=calibration,
        front_ends=not args.no_front_end,
    )
    description = json.loads((Path(directory) / "export.json").read_text(encoding="utf-8"))
    for name, described in description["inputs"].items():
        front_end = described["front_end"]
        where = front_end["runs_in"]
        why = front_end.get("reason") or front_end.get("not_in_onnx")
        reason = f" ({why})" if why else ""
        print(
            f"input {name!r}: feature {described['feature']['name']!r} computed in {where}{reason}"
        )
    size = (Path(directory) / "model.onnx").stat().st_size
    print(f"exported {directory} (model.onnx {size / 2**20:.2f} MiB, {args.quantize} quantization)")
