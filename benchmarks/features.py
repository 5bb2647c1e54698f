"""Feature extraction speed: a per-clip librosa loop (the notebook study's way)
against kser's batched TensorFlow extractors, on the same nEMO clips.

    python benchmarks/features.py --clips 64

Prints, per feature, milliseconds per clip for each way (medians over
`--repeats` runs) and their ratio, then the totals and a last line
`total speedup: <x>x`. kser's times exclude tracing and XLA compilation, which
happen once per batch shape. Both ways compute the same values
(tests/features/test_parity.py); librosa's `chroma_cqt` and `tonnetz` run with
`tuning=0.0` as kser's do, which spares the loop librosa's tuning estimate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from kser import features
from kser.data.audio import load_clip
from kser.features.reference import reference_feature

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "nemo"


def nemo_clips(data: Path, n_clips: int) -> np.ndarray:
    """The first `n_clips` clips of data.tsv, 3 s at 16 kHz: `(n_clips, 48000)`."""
    table = pd.read_csv(data / "data.tsv", sep="\t")
    stems = [Path(name).stem for name in table["file_id"][:n_clips]]
    paths = [next((data / "samples").glob(f"{stem}.*")) for stem in stems]
    return np.stack([load_clip(path) for path in paths])


def seconds(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def reference_loop(name, params, clips):
    """The notebook study's way: librosa, one clip at a time."""
    reference_feature(name, clips[0], params)  # numba compiles on first use

    def run():
        for clip in clips:
            reference_feature(name, clip, params)

    return run


def kser_batches(extractor, clips, batch_size):
    """kser's way: the extractor as a graph over batches of clips."""
    compute = tf.function(extractor)
    batches = [
        tf.constant(clips[start : start + batch_size]) for start in range(0, len(clips), batch_size)
    ]
    for batch in {batch.shape[0]: batch for batch in batches}.values():
        compute(batch).numpy()  # trace and compile each batch shape once

    def run():
        for batch in batches:
            compute(batch).numpy()

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=64, help="nEMO clips to extract (64)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (5)")
    parser.add_argument("--batch-size", type=int, default=32, help="kser batch size (32)")
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("KSER_DATA") or DEFAULT_DATA)
    )
    parser.add_argument("--features", nargs="*", default=list(features.names()))
    args = parser.parse_args(argv)

    clips = nemo_clips(args.data, args.clips)
    print(
        f"{len(clips)} nEMO clips of {clips.shape[1]} samples, {os.cpu_count()} CPU cores, "
        f"kser batch {args.batch_size}, medians of {args.repeats} runs"
    )
    print(f"{'feature':<16} {'librosa ms/clip':>16} {'kser ms/clip':>13} {'speedup':>8}")
    extractors = [features.get(name) for name in args.features]
    runs = [
        (reference_loop(e.name, e.params, clips), kser_batches(e, clips, args.batch_size))
        for e in extractors
    ]
    # Repeats interleave both ways, so that load from other processes hits them alike.
    times = [[(seconds(ref), seconds(ours)) for ref, ours in runs] for _ in range(args.repeats)]
    reference, kser = [], []
    for index, name in enumerate(args.features):
        reference.append(statistics.median(t[index][0] for t in times) / len(clips))
        kser.append(statistics.median(t[index][1] for t in times) / len(clips))
        print(
            f"{name:<16} {1000 * reference[-1]:16.2f} {1000 * kser[-1]:13.2f} "
            f"{reference[-1] / kser[-1]:7.1f}x"
        )
    total_reference, total_kser = sum(reference), sum(kser)
    print(
        f"{'total':<16} {1000 * total_reference:16.2f} {1000 * total_kser:13.2f} "
        f"{total_reference / total_kser:7.1f}x"
    )
    print(f"total speedup: {total_reference / total_kser:.1f}x")


if __name__ == "__main__":
    main()
