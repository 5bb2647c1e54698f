"""Does a voice-matched prior help bundles trained with the population's? UAR against N.

    python -m experiments.voice_prior --runs runs/cps/default --data ../shared/nemo --out runs/vp

Each fold bundle of a finished leave-one-speaker-out run is given, without
retraining, a voice-matched prior (`kser.speakers.statistics.VoiceStatistics`)
fitted on its own training speakers' features, at each temperature in
`TEMPERATURES` (inf: the population's statistics, i.e. the bundle as trained),
and scores its test speaker's clips in random groups of N as
`experiments.clips_per_speaker` does. Writes `voice_prior.{md,csv,json}` (mean
UAR over folds ± std per N and temperature).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from experiments.clips_per_speaker import GROUP_SIZES, _column
from experiments.common import write_table
from kser.errors import KserError

TEMPERATURES = (0.02, 0.05, 0.2, float("inf"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", required=True, help="a finished LOSO run directory")
    parser.add_argument("--data", required=True, help="the run's nEMO directory")
    parser.add_argument("--out", required=True, help="where the table goes")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random groups")
    args = parser.parse_args(argv)
    from kser.data import load_corpus
    from kser.training import load_bundle
    from kser.training.speaker_settings import with_prior

    paths = sorted(Path(args.runs).glob("*/bundle/bundle.json"))
    if not paths:
        raise KserError(f"{args.runs}: no fold bundles (*/bundle) to score")
    corpus = None
    uars = {temperature: {size: [] for size in GROUP_SIZES} for temperature in TEMPERATURES}
    for path in paths:
        bundle = load_bundle(path.parent)
        if corpus is None:
            corpus = load_corpus(args.data)
        features = bundle._corpus_features(corpus, np.arange(len(corpus)))
        train = bundle.split_rows(corpus, "train")
        voiced = _with_voices(bundle, features[train], corpus.manifest["speaker"].iloc[train])
        rows = bundle.split_rows(corpus, "test")
        for temperature in TEMPERATURES:
            candidate = with_prior(voiced, voiced.normalizer.prior.clips, temperature)
            for size in GROUP_SIZES:
                result = candidate.evaluate(
                    corpus,
                    rows,
                    seed=args.seed,
                    clips_per_speaker=size,
                    feature_set=_Features(features),
                )
                uars[temperature][size].append(result.uar)
        print(
            f"{path.parent.parent.name}: N=1 "
            + " ".join(f"T={t:g} {uars[t][1][-1]:.3f}" for t in TEMPERATURES),
            flush=True,
        )
    rows = [
        {"temperature": f"{temperature:g}", "folds": len(values[None])}
        | {_column(size): f"{np.mean(v):.3f} ± {np.std(v):.3f}" for size, v in values.items()}
        for temperature, values in uars.items()
    ]
    note = (
        f"Fold bundles of {args.runs} given a voice-matched prior without retraining; mean "
        "test UAR over folds (± std) in random groups of N (seed "
        f"{args.seed}); T=inf is the bundle as trained (the population's statistics)."
    )
    print(write_table(Path(args.out), "voice_prior", "UAR by voice prior temperature", rows, note))
    return 0


def _with_voices(bundle, train_features, train_speakers):
    from kser.speakers.statistics import VoiceStatistics

    if not bundle.single_input or bundle.normalizer.prior is None:
        raise KserError(f"{bundle.directory}: no single-input speaker prior to match voices in")
    voices = VoiceStatistics.fit(train_features, np.asarray(train_speakers), float("inf"))
    normalizer = bundle.normalizer
    changed = type(normalizer)(
        normalizer.spec,
        normalizer.mean,
        normalizer.std,
        dataclasses.replace(normalizer.prior, voices=voices),
    )
    return dataclasses.replace(bundle, normalizers=changed)


@dataclasses.dataclass
class _Features:
    """All clips' raw features in the shape `Bundle._corpus_features` reads a feature set."""

    values: np.ndarray

    def as_numpy(self) -> np.ndarray:
        return self.values


if __name__ == "__main__":
    sys.exit(main())
