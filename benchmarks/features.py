"""Feature extraction speed: a per-clip librosa loop (the notebook study's way)
against kser's batched TensorFlow extractors, on the same nEMO clips.

    python benchmarks/features.py --clips 64
    python benchmarks/features.py --clips 64 --functionals

Prints, per feature, milliseconds per clip for each way (medians over
`--repeats` runs) and their ratio, then the totals and a last line
`total speedup: <x>x`. kser's times exclude tracing and XLA compilation, which
happen once per batch shape. Both ways compute the same values
(tests/features/test_parity.py); librosa's `chroma_cqt` and `tonnetz` run with
`tuning=0.0` as kser's do, which spares the loop librosa's tuning estimate.

With `--functionals`, it measures instead kser's default model input, the
utterance functionals with the pitch (prosody) statistics, as `kser train`
extracts it: clips per second of the extractor over batches of decoded clips
(`graph`), and of `kser.features.pipeline.extract_features` end to end
(`pipeline`: FLAC decoding, extraction and the TFRecord shards, written to a
fresh temporary cache each run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from kser import features
from kser.data.audio import load_clip
from kser.features.pipeline import extract_features
from kser.features.reference import reference_feature

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "nemo"


def nemo_paths(data: Path, n_clips: int) -> list[Path]:
    """The audio files of the first `n_clips` clips of data.tsv."""
    table = pd.read_csv(data / "data.tsv", sep="\t")
    stems = [Path(name).stem for name in table["file_id"][:n_clips]]
    return [next((data / "samples").glob(f"{stem}.*")) for stem in stems]


def nemo_clips(data: Path, n_clips: int) -> np.ndarray:
    """The first `n_clips` clips of data.tsv, 3 s at 16 kHz: `(n_clips, 48000)`."""
    return np.stack([load_clip(path) for path in nemo_paths(data, n_clips)])


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


def pipeline_run(extractor, paths, batch_size):
    """`extract_features` on `paths` into a new temporary cache each time."""
    manifest = pd.DataFrame({"path": [str(path) for path in paths]})

    def run():
        with tempfile.TemporaryDirectory() as root:
            extract_features(
                manifest, extractor, cache_root=root, batch_size=batch_size, progress=False
            )

    run()  # the first run pays for decoder and library start-up
    return run


def functionals_throughput(args):
    """Clips per second of the default functionals + prosody, graph alone and pipeline."""
    extractor = features.get("functionals")
    paths = nemo_paths(args.data, args.clips)
    clips = np.stack([load_clip(path) for path in paths])
    runs = {
        "graph": kser_batches(extractor, clips, args.batch_size),
        "pipeline": pipeline_run(extractor, paths, args.batch_size),
    }
    times = [{way: seconds(run) for way, run in runs.items()} for _ in range(args.repeats)]
    print(
        f"{len(clips)} nEMO clips, {os.cpu_count()} CPU cores, kser batch {args.batch_size}, "
        f"medians of {args.repeats} runs; default functionals ({extractor.n_bins} values, "
        "prosody included)"
    )
    for way in runs:
        median = statistics.median(t[way] for t in times)
        print(
            f"functionals {way:<9} {1000 * median / len(clips):8.2f} ms/clip "
            f"{len(clips) / median:8.1f} clips/s"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=64, help="nEMO clips to extract (64)")
    parser.add_argument("--repeats", type=int, default=5, help="runs per measurement (5)")
    parser.add_argument("--batch-size", type=int, default=32, help="kser batch size (32)")
    parser.add_argument(
        "--data", type=Path, default=Path(os.environ.get("KSER_DATA") or DEFAULT_DATA)
    )
    parser.add_argument("--features", nargs="*", default=list(features.names()))
    parser.add_argument(
        "--functionals",
        action="store_true",
        help="measure the default functionals + prosody in clips/s instead",
    )
    args = parser.parse_args(argv)
    if args.functionals:
        functionals_throughput(args)
        return

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
