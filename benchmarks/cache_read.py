"""How fast a cached feature set is read, against extracting it from the audio again.

    python benchmarks/cache_read.py [--clips 3402] [--feature mel] [--repeats 5]

Extracts the features of the first `--clips` nEMO clips ($KSER_DATA, else
../shared/nemo) once into a temporary cache, then times, `--repeats` times:
opening the cache (`extract_features` on a hit: every shard's size and sha256
checked) plus reading it into memory (`FeatureSet.as_numpy`, checked again
against the sha256), and one epoch of `FeatureSet.dataset` batches. Prints
medians in clips/s and the ratio to the one-off extraction. Target: reading
at least 2,000 clips/s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import kser.features
from kser.data import load_corpus
from kser.features.pipeline import extract_features

TARGET_CLIPS_PER_SECOND = 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=None, help="first N clips (default: all)")
    parser.add_argument("--feature", default="mel")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    repo = Path(__file__).resolve().parents[1]
    data = os.environ.get("KSER_DATA") or str(repo.parent / "shared" / "nemo")
    manifest = load_corpus(data, verbose=False).manifest
    manifest = manifest.iloc[: args.clips] if args.clips else manifest
    extractor = kser.features.get(args.feature)
    n = len(manifest)

    with tempfile.TemporaryDirectory() as cache_root:
        start = time.perf_counter()
        extract_features(manifest, extractor, cache_root=cache_root, progress=False)
        extraction = n / (time.perf_counter() - start)

        read_rates, epoch_rates = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            feature_set = extract_features(
                manifest, extractor, cache_root=cache_root, progress=False
            )
            features = feature_set.as_numpy()
            read_rates.append(n / (time.perf_counter() - start))

            dataset = feature_set.dataset(
                np.arange(n), np.zeros(n, dtype=int), batch_size=32, shuffle=True
            )
            start = time.perf_counter()
            for _ in dataset:
                pass
            epoch_rates.append(n / (time.perf_counter() - start))

    size = features.nbytes / 2**20
    read = statistics.median(read_rates)
    print(f"{n} clips of {args.feature} {feature_set.shape} float32, {size:.0f} MiB in memory")
    print(f"extract from audio (once):        {extraction:9.0f} clips/s")
    print(
        f"open + read cache (median of {args.repeats}): {read:9.0f} clips/s  "
        f"({read / extraction:.0f}x extraction; target {TARGET_CLIPS_PER_SECOND})"
    )
    print(f"one shuffled epoch of batches:    {statistics.median(epoch_rates):9.0f} clips/s")
    print("reading meets the target" if read >= TARGET_CLIPS_PER_SECOND else "BELOW TARGET")


if __name__ == "__main__":
    main()
