"""The numpy front end of an exported bundle against kser's TensorFlow extractor, on real clips.

    python benchmarks/runtime_features.py BUNDLE [--data PATH] [--part test] [--out DIR]

Exports BUNDLE (fp32) into DIR and, on the `--part` clips of the bundle's
split, computes the features twice: with the TensorFlow extractor (kser's
feature cache) and with the export's front end (`kser.runtime.features` where
the feature is outside ONNX). Reports
- feature parity: max |numpy - TensorFlow| in units of each value's spread
  over these clips (its std), and after the bundle's own normalization,
  overall and per representation and pass; and which values and clips exceed
  1e-3 of a std;
- the model's view: max |diff| of the adapted probabilities, argmax agreement,
  UAR from each set of features;
- extraction time per clip, numpy against TensorFlow (batches of 32, median
  of `--repeats`).
Writes runtime_features.json and runtime_features.png (per-value differences)
into DIR.
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
from pathlib import Path

import numpy as np
from onnx_latency import median_seconds  # these scripts run as python benchmarks/<name>.py

from kser.data import load_corpus
from kser.data.audio import load_clip
from kser.evaluation import evaluate
from kser.export import export_bundle
from kser.features.pipeline import extract_features
from kser.paths import atomic_write_json
from kser.runtime import load_exported
from kser.training import load_bundle


def value_groups(extractor) -> list[str]:
    """Per output value: its representation and pass ("chroma", "chroma (active)", "prosody")."""
    if not hasattr(extractor, "value_names"):
        return [extractor.name] * extractor.n_bins
    groups = []
    for name in extractor.value_names():
        words = name.split()
        if words[0] in ("pitch", "voiced", "aperiodicity"):
            groups.append("prosody")
        else:
            groups.append(words[0] + (" (active)" if name.endswith("(active)") else ""))
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--data", default=os.environ.get("KSER_DATA", "../shared/nemo"))
    parser.add_argument("--part", default="test", choices=("train", "val", "test"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="kser-runtime-features-"))
    out.mkdir(parents=True, exist_ok=True)

    bundle = load_bundle(args.bundle)
    runtime = load_exported(export_bundle(bundle, out / "exported"))
    corpus = load_corpus(args.data, verbose=False)
    rows = bundle.split_rows(corpus, args.part)
    manifest = corpus.manifest.iloc[rows]
    speakers = manifest["speaker"].astype(str).to_numpy()
    labels = manifest["emotion"].to_numpy()

    expected = extract_features(
        corpus.manifest, bundle.extractor, clip_seconds=bundle.clip_seconds
    ).as_numpy()[rows]
    actual = runtime.corpus_features(manifest)
    spread = expected.std(axis=0)
    z = np.abs(actual - expected) / np.where(spread > 0, spread, 1.0)
    normalized = np.abs(
        bundle.normalizer.transform(actual, speakers)
        - bundle.normalizer.transform(expected, speakers)
    )
    per_value = z.reshape(len(z), -1).max(axis=0)
    groups = value_groups(bundle.extractor)
    by_group = collections.defaultdict(float)
    for group, value in zip(groups, per_value, strict=True):
        by_group[group] = max(by_group[group], float(value))

    keras_probabilities = bundle.predict_features(expected, speakers)
    runtime_probabilities = runtime.predict_features(actual, speakers)
    clips = np.stack(
        [load_clip(p, bundle.sample_rate, bundle.clip_seconds) for p in manifest["path"][:32]]
    )
    numpy_extractor = next(iter(runtime.numpy_front_ends.values()), None)
    results = {
        "bundle": str(args.bundle),
        "clips": len(rows),
        "feature": bundle.extractor.name,
        "front_end": runtime.info["inputs"][runtime.input_names[0]]["front_end"]["runs_in"],
        "max_diff_in_stds": float(z.max()),
        "max_diff_after_normalization": float(normalized.max()),
        "max_diff_in_stds_by_group": dict(sorted(by_group.items(), key=lambda kv: -kv[1])),
        "values_over_1e-3_std": int((per_value > 1e-3).sum()),
        "values": int(per_value.size),
        "clips_with_a_value_over_1e-3_std": int((z.reshape(len(z), -1).max(axis=1) > 1e-3).sum()),
        "max_probability_diff": float(np.max(np.abs(runtime_probabilities - keras_probabilities))),
        "same_argmax": float(
            np.mean(runtime_probabilities.argmax(1) == keras_probabilities.argmax(1))
        ),
        "uar_tensorflow_features": evaluate(labels, keras_probabilities, bundle.labels).uar,
        "uar_runtime_features": evaluate(labels, runtime_probabilities, bundle.labels).uar,
        "tensorflow_seconds_per_clip": median_seconds(
            lambda: np.asarray(bundle.extractor(clips)), args.repeats
        )
        / len(clips),
    }
    if numpy_extractor is not None:
        results["numpy_seconds_per_clip"] = median_seconds(
            lambda: numpy_extractor(clips), args.repeats
        ) / len(clips)
        results["numpy_vs_tensorflow_time"] = (
            results["numpy_seconds_per_clip"] / results["tensorflow_seconds_per_clip"]
        )
    atomic_write_json(out / "runtime_features.json", results)
    plot(per_value, groups, out / "runtime_features.png")
    for key, value in results.items():
        print(f"{key}: {value}")
    print(f"written: {out / 'runtime_features.json'}, {out / 'runtime_features.png'}")


def plot(per_value, groups, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 3.5))
    names = list(dict.fromkeys(groups))
    colours = plt.cm.tab20(np.linspace(0, 1, len(names)))
    for name, colour in zip(names, colours, strict=True):
        index = np.flatnonzero(np.array(groups) == name)
        axis.scatter(index, np.maximum(per_value[index], 1e-9), s=3, color=colour, label=name)
    axis.axhline(1e-3, color="black", linewidth=0.8, linestyle="--")
    axis.set_yscale("log")
    axis.set_xlabel("feature value")
    axis.set_ylabel("max |numpy - TF| / std")
    axis.legend(fontsize=6, ncol=4, markerscale=3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


if __name__ == "__main__":
    main()
