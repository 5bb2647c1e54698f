"""UAR of INT8 exports against their Keras bundles, fold by fold of a leave-one-speaker-out run.

    python benchmarks/onnx_int8_loso.py RUN_DIR [--data PATH]

RUN_DIR is a `kser cv --protocol loso` run (one `<fold>/bundle` per held-out
speaker). Each fold's bundle is exported as INT8 dynamic and INT8 static
(calibrated on 256 of its training clips) and scored, with the bundle's
speaker adaptation, on its held-out speaker's clips, as the Keras bundle is.
Prints per-fold UARs, the means and the loss in points. Target (issue 19):
INT8 loses at most 1 UAR point.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np

from kser.data import load_corpus
from kser.evaluation import evaluate
from kser.export import calibration_features, export_bundle
from kser.features.pipeline import extract_features
from kser.runtime import load_exported
from kser.training import load_bundle

CALIBRATION_CLIPS = 256
MODES = ("dynamic", "static")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--data", default=None)
    args = parser.parse_args()

    repo = Path(__file__).resolve().parents[1]
    data = args.data or os.environ.get("KSER_DATA") or str(repo.parent / "shared" / "nemo")
    corpus = load_corpus(data, verbose=False)
    folds = sorted(path.parent for path in Path(args.run_dir).glob("*/bundle/bundle.json"))
    uars = {"keras": [], **{mode: [] for mode in MODES}}
    print(f"{'fold':10} {'keras':>7} " + " ".join(f"{mode:>8}" for mode in MODES))
    with tempfile.TemporaryDirectory(prefix="int8-loso-") as out:
        for fold in folds:
            bundle = load_bundle(fold)
            rows = bundle.split_rows(corpus, "test")
            manifest = corpus.manifest.iloc[rows]
            labels = manifest["emotion"].to_numpy()
            speakers = manifest["speaker"].astype(str).to_numpy()
            raw = extract_features(manifest, bundle.extractor, clip_seconds=bundle.clip_seconds)
            raw = raw.as_numpy()
            uars["keras"].append(
                evaluate(labels, bundle.predict_features(raw, speakers), bundle.labels).uar
            )
            train = bundle.split_rows(corpus, "train")
            chosen = np.random.default_rng(0).choice(train, CALIBRATION_CLIPS, replace=False)
            calibration = calibration_features(bundle, corpus, np.sort(chosen))
            for mode in MODES:
                directory = export_bundle(
                    bundle,
                    Path(out) / f"{fold.parent.name}-{mode}",
                    quantization=mode,
                    calibration=calibration,
                    front_ends=False,  # scored from the cached features
                )
                probabilities = load_exported(directory).predict_features(raw, speakers)
                uars[mode].append(evaluate(labels, probabilities, bundle.labels).uar)
            print(
                f"{fold.parent.name:10} {uars['keras'][-1]:7.4f} "
                + " ".join(f"{uars[mode][-1]:8.4f}" for mode in MODES),
                flush=True,
            )
    means = {name: statistics.mean(values) for name, values in uars.items()}
    print(f"{'mean':10} {means['keras']:7.4f} " + " ".join(f"{means[mode]:8.4f}" for mode in MODES))
    for mode in MODES:
        print(f"INT8 {mode}: UAR loss {100 * (means['keras'] - means[mode]):+.2f} points")


if __name__ == "__main__":
    main()
