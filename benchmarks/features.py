"""Feature extraction speed: a per-clip librosa loop (the notebook study's way)
against kser's batched TensorFlow extractors, on the same nEMO clips.

    python benchmarks/features.py --clips 64
    python benchmarks/features.py --clips 64 --functionals

Prints, per feature, milliseconds per clip for each way (medians over
`--repeats` runs) and their ratio, then the totals, a line `together` (kser
computing all the features in one call, as a stack of them does: the STFT,
log-mel, CQT and onset envelope once for every feature that reads them,
against the librosa total) and a last line `total speedup: <x>x` (the sum
over features, each computed on its own). kser's times exclude tracing and
XLA compilation, which happen once per batch shape. Every timed run follows
an untimed warm-up call of the same way (one clip for librosa, one batch for
kser): the runs of both ways interleave, so that load from other processes
hits them alike, and a batched call right after the other way's run (or any
pause) pays 10-20 ms of thread and cache wake-up that a continuous extraction
never pays (`--cold` measures without the warm-up). Both ways compute the same values
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
from kser.features.shared import sharing

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


class Way:
    """A timed run (`run`) and the untimed call that comes before it (`warm_up`)."""

    def __init__(self, run, warm_up):
        self.run, self.warm_up = run, warm_up

    def seconds(self, warm: bool = True) -> float:
        if warm:
            self.warm_up()
        return seconds(self.run)


def reference_loop(name, params, clips) -> Way:
    """The notebook study's way: librosa, one clip at a time."""

    def warm_up():
        reference_feature(name, clips[0], params)  # numba compiles on first use

    def run():
        for clip in clips:
            reference_feature(name, clip, params)

    warm_up()
    return Way(run, warm_up)


def kser_batches(extractor, clips, batch_size) -> Way:
    """kser's way: the extractor as a graph over batches of clips."""
    compute = tf.function(extractor)
    batches = [
        tf.constant(clips[start : start + batch_size]) for start in range(0, len(clips), batch_size)
    ]

    def to_numpy(batch):
        return tf.nest.map_structure(lambda tensor: tensor.numpy(), compute(batch))

    for batch in {batch.shape[0]: batch for batch in batches}.values():
        to_numpy(batch)  # trace and compile each batch shape once

    def run():
        for batch in batches:
            to_numpy(batch)

    return Way(run, lambda: compute(batches[0]))


def all_at_once(extractors):
    """One function computing every extractor's features of a batch, each shared
    intermediate result (STFT, log-mel, CQT, onset envelope) once."""

    def compute(waves):
        with sharing():
            return [extractor(waves) for extractor in extractors]

    return compute


def pipeline_run(extractor, paths, batch_size) -> Way:
    """`extract_features` on `paths` into a new temporary cache each time."""
    manifest = pd.DataFrame({"path": [str(path) for path in paths]})

    def run():
        with tempfile.TemporaryDirectory() as root:
            extract_features(
                manifest, extractor, cache_root=root, batch_size=batch_size, progress=False
            )

    run()  # the first run pays for decoder and library start-up
    # No warm-up: each run traces the extractor once, as `kser train` does.
    return Way(run, lambda: None)


def functionals_throughput(args):
    """Clips per second of the default functionals + prosody, graph alone and pipeline."""
    extractor = features.get("functionals")
    paths = nemo_paths(args.data, args.clips)
    clips = np.stack([load_clip(path) for path in paths])
    runs = {
        "graph": kser_batches(extractor, clips, args.batch_size),
        "pipeline": pipeline_run(extractor, paths, args.batch_size),
    }
    times = [
        {name: way.seconds(not args.cold) for name, way in runs.items()}
        for _ in range(args.repeats)
    ]
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
        "--cold", action="store_true", help="no untimed warm-up call before each timed run"
    )
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
    together = kser_batches(all_at_once(extractors), clips, args.batch_size)
    warm = not args.cold
    # Repeats interleave both ways, so that load from other processes hits them alike.
    times, together_times = [], []
    for _ in range(args.repeats):
        times.append([(ref.seconds(warm), ours.seconds(warm)) for ref, ours in runs])
        together_times.append(together.seconds(warm))
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
    at_once = statistics.median(together_times) / len(clips)
    print(
        f"{'together':<16} {1000 * total_reference:16.2f} {1000 * at_once:13.2f} "
        f"{total_reference / at_once:7.1f}x"
    )
    print(f"total speedup: {total_reference / total_kser:.1f}x")


if __name__ == "__main__":
    main()
