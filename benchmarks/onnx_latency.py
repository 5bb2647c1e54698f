"""ONNX deployment of a trained bundle: parity, size, latency and UAR, fp32 against INT8.

    python benchmarks/onnx_latency.py BUNDLE [--data PATH] [--repeats 30] [--out DIR]

Exports BUNDLE (a `kser train` run or bundle) five ways into DIR (default: a
temporary folder): fp32 as converted, fp32 through onnxslim, fp32 through
onnxruntime's offline optimisation, INT8 dynamic and INT8 static (calibrated
on 256 of the bundle's training clips, or all where fewer). On the test part of the split
(speakers never heard in training, for the `speaker` protocol) it measures:
- parity: max |fp32 ONNX - Keras| of the probabilities, adapted and not, and
  whether every argmax agrees;
- size of model.onnx (and of the feature front end where it is in ONNX);
- latency, medians of `--repeats` runs, single clip and batch of 32: Keras
  `model.predict` against onnxruntime from features, and from the waveform
  (extract + normalize + classify) where the front end is in ONNX;
- UAR of each export on those clips, with the bundle's speaker adaptation.
Prints a table and the ratios; writes onnx_latency.json and onnx_latency.png
into DIR. Targets (issue 19): single clip >= 10x faster than Keras predict,
INT8 <= 1/4 of the fp32 size for the CNNs, UAR loss <= 1 point.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from kser.data import load_corpus
from kser.data.audio import load_clip
from kser.evaluation import evaluate
from kser.export import calibration_features, export_bundle
from kser.features.pipeline import extract_features
from kser.paths import atomic_write_json
from kser.runtime import load_exported
from kser.training import load_bundle

CALIBRATION_CLIPS = 256
VARIANTS = {  # name -> export arguments
    "fp32": {"optimisation": "none"},
    "fp32-slim": {"optimisation": "slim"},
    "fp32-ort": {"optimisation": "ort"},
    "int8-dynamic": {"optimisation": "slim", "quantization": "dynamic"},
    "int8-static": {"optimisation": "slim", "quantization": "static"},
}


def normalize(bundle, raw: dict, speakers) -> dict:
    """Each input's raw features normalized by its normalizer, by model input name."""
    return {name: bundle.normalizers[name].transform(raw[name], speakers) for name in raw}


def model_input(values: dict):
    """`values` by input name as a Keras model takes them: the array itself for one input."""
    return values if len(values) > 1 else next(iter(values.values()))


def median_seconds(function, repeats: int) -> float:
    function()  # warm-up: graph building, allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--data", default=None)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    repo = Path(__file__).resolve().parents[1]
    data = args.data or os.environ.get("KSER_DATA") or str(repo.parent / "shared" / "nemo")
    out = Path(args.out or tempfile.mkdtemp(prefix="onnx-latency-"))
    bundle = load_bundle(args.bundle)
    corpus = load_corpus(data, verbose=False)
    test_rows = bundle.split_rows(corpus, "test")
    train_rows = bundle.split_rows(corpus, "train")
    # Fewer where the training split is smaller (a smoke-size corpus).
    calibration_size = min(CALIBRATION_CLIPS, len(train_rows))
    calibration_rows = np.sort(
        np.random.default_rng(0).choice(train_rows, calibration_size, replace=False)
    )
    calibration = calibration_features(bundle, corpus, calibration_rows)

    exported = {}
    for name, options in VARIANTS.items():
        needs = options.get("quantization") == "static"
        directory = export_bundle(
            bundle, out / name, calibration=calibration if needs else None, **options
        )
        exported[name] = load_exported(directory)

    manifest = corpus.manifest.iloc[test_rows]
    speakers = manifest["speaker"].astype(str).to_numpy()
    labels = manifest["emotion"].to_numpy()
    # Every input by its model input name (an ensemble has one per feature).
    raw = {
        name: extract_features(manifest, extractor, clip_seconds=bundle.clip_seconds).as_numpy()
        for name, extractor in bundle.extractors.items()
    }
    features = model_input(raw)
    keras_probabilities = bundle.predict_features(features, speakers)
    plain = bundle.with_speaker_adaptation(None)
    keras_plain = plain.predict_features(features, speakers)
    results = {"bundle": str(bundle.directory), "test_clips": len(test_rows), "variants": {}}
    results["keras_uar"] = evaluate(labels, keras_probabilities, bundle.labels).uar

    normalized = normalize(bundle, raw, speakers)
    single = {name: values[:1] for name, values in normalized.items()}
    batch = {name: values[:32] for name, values in normalized.items()}
    keras_single = median_seconds(
        lambda: bundle.model.predict(model_input(single), verbose=0), args.repeats
    )
    keras_batch = median_seconds(
        lambda: bundle.model.predict(model_input(batch), verbose=0), args.repeats
    )
    results["keras_latency"] = {"single": keras_single, "batch32": keras_batch}
    clips = np.stack(
        [load_clip(path, bundle.sample_rate, bundle.clip_seconds) for path in manifest["path"][:32]]
    )

    def keras_from_waveform():
        extracted = {
            name: keras.ops.convert_to_numpy(extractor(clips[:1]))
            for name, extractor in bundle.extractors.items()
        }
        inputs = model_input(normalize(bundle, extracted, speakers[:1]))
        return bundle.model.predict(inputs, verbose=0)

    results["keras_latency"]["single_from_waveform"] = median_seconds(
        keras_from_waveform, args.repeats
    )

    for name, runtime in exported.items():
        session = runtime.sessions["model"]
        probabilities = runtime.predict_features(features, speakers)
        runtime_plain = runtime.with_speaker_adaptation(None).predict_features(features, speakers)
        model_file = runtime.directory / "model.onnx"
        front_ends = [p for p in runtime.directory.glob("features.*.onnx")]
        row = {
            "model_bytes": model_file.stat().st_size,
            "front_end_bytes": sum(p.stat().st_size for p in front_ends),
            "front_end_in_onnx": bool(front_ends),
            "max_abs_diff": float(np.max(np.abs(probabilities - keras_probabilities))),
            "max_abs_diff_unadapted": float(np.max(np.abs(runtime_plain - keras_plain))),
            "argmax_agrees": float(
                np.mean(probabilities.argmax(axis=1) == keras_probabilities.argmax(axis=1))
            ),
            "uar": evaluate(labels, probabilities, bundle.labels).uar,
            "single": median_seconds(
                lambda session=session: session.run(None, single), args.repeats
            ),
            "batch32": median_seconds(
                lambda session=session: session.run(None, batch), args.repeats
            ),
        }
        if front_ends:
            row["single_from_waveform"] = median_seconds(
                lambda runtime=runtime: runtime.with_speaker_adaptation(None).predict_features(
                    runtime.extract(clips[:1]), speakers[:1]
                ),
                args.repeats,
            )
        results["variants"][name] = row

    print_table(results)
    atomic_write_json(out / "onnx_latency.json", results)
    plot(results, out / "onnx_latency.png")
    print(f"wrote {out / 'onnx_latency.json'} and {out / 'onnx_latency.png'}")


def print_table(results: dict) -> None:
    keras_latency = results["keras_latency"]
    fp32 = results["variants"]["fp32-slim"]["model_bytes"]
    print(f"bundle {results['bundle']}: {results['test_clips']} test clips")
    print(
        f"Keras predict: single {keras_latency['single'] * 1e3:.2f} ms, batch-32 "
        f"{keras_latency['batch32'] * 1e3:.2f} ms, single from waveform "
        f"{keras_latency['single_from_waveform'] * 1e3:.2f} ms; UAR {results['keras_uar']:.4f}"
    )
    header = (
        f"{'variant':13} {'size KiB':>9} {'/fp32':>6} {'max|diff|':>10} {'argmax':>7} "
        f"{'UAR':>7} {'single ms':>10} {'x Keras':>8} {'b32 ms':>8} {'x Keras':>8} {'wave ms':>8}"
    )
    print(header)
    for name, row in results["variants"].items():
        wave = row.get("single_from_waveform")
        print(
            f"{name:13} {row['model_bytes'] / 1024:9.1f} {row['model_bytes'] / fp32:6.3f} "
            f"{row['max_abs_diff']:10.2e} {row['argmax_agrees']:7.3f} {row['uar']:7.4f} "
            f"{row['single'] * 1e3:10.3f} {keras_latency['single'] / row['single']:8.1f} "
            f"{row['batch32'] * 1e3:8.3f} {keras_latency['batch32'] / row['batch32']:8.1f} "
            + (f"{wave * 1e3:8.2f}" if wave else f"{'-':>8}")
        )


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["keras", *results["variants"]]
    single = [results["keras_latency"]["single"]] + [
        row["single"] for row in results["variants"].values()
    ]
    batch = [results["keras_latency"]["batch32"]] + [
        row["batch32"] for row in results["variants"].values()
    ]
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for axis, values, title in ((axes[0], single, "single clip"), (axes[1], batch, "batch of 32")):
        axis.barh(names, np.array(values) * 1e3)
        axis.set_xscale("log")
        axis.set_xlabel("median latency (ms, log scale)")
        axis.set_title(title)
    figure.suptitle(f"{results['bundle']}: Keras predict vs onnxruntime")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


if __name__ == "__main__":
    keras.utils.disable_interactive_logging()
    main()
