"""Learned-weight ensemble of per-feature models, tuned on out-of-fold predictions only.

    python -m experiments.ensemble --data /path/to/nemo --out runs/ensemble   # <1 h, 2 CPU cores
    python -m experiments.ensemble --members stack,mel,hpss:cnn3              # pick the members
    python -m experiments.ensemble --comparison runs/features --top-k 3       # best 3 features of
                                                                              # evaluated runs
    python -m experiments.ensemble --protocol speaker                         # one test split,
                                                                              # nested folds
    python -m experiments.ensemble --smoke                                    # seconds, tiny data

`kser ensemble` with a `--smoke` size: the workflow (cross-fitted LOSO by
default, or nested folds under `--protocol speaker`), what it writes and how
it resumes are `kser.ensemble.workflow`'s; the default members and what they
measured on nEMO are `kser.ensemble.config.DEFAULT_MEMBERS`'s (docs/ensemble.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from kser.ensemble.command import add_arguments, ensemble_config
from kser.errors import KserError
from kser.training import ExperimentConfig

# --smoke: two tiny CNNs on small mel and MFCC images, 1 epoch of 1 s clips, 2 member
# folds and 2 tuning trials, on every speaker's first clips (`experiments.common`).
SMOKE_FEATURES = ("mel", "mfcc")
SMOKE_FEATURE_PARAMS = {"mel": {"n_mels": 16}, "mfcc": {"n_mels": 16, "n_mfcc": 8}}
SMOKE_CONFIG = ExperimentConfig(
    protocol="loso",
    model="cnn3",
    model_params={"width": 0.125},
    epochs=1,
    batch_size=16,
    clip_seconds=1.0,
)
SMOKE_FOLDS = 2
SMOKE_TRIALS = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    parser.add_argument("--smoke", action="store_true", help="tiny subset, 1 epoch (a test)")
    return parser


def configure(args):
    """The `kser.ensemble.EnsembleConfig` the command line asks for (smoke-sized with --smoke)."""
    if not args.smoke:
        return ensemble_config(args)
    smoke = argparse.Namespace(
        **{
            **vars(args),
            "members": args.members or ",".join(SMOKE_FEATURES),
            "model": args.model or SMOKE_CONFIG.model,
            "epochs": args.epochs or SMOKE_CONFIG.epochs,
            "member_folds": SMOKE_FOLDS,
            "max_trials": SMOKE_TRIALS,
        }
    )
    return ensemble_config(smoke, base=SMOKE_CONFIG, feature_params=SMOKE_FEATURE_PARAMS)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)

    from experiments.common import smoke_subset
    from kser.data import load_corpus
    from kser.ensemble import run_ensemble
    from kser.training import default_run_dir
    from kser.training.run_directory import clear_run_directory

    start = time.perf_counter()
    run_dir = Path(args.out or default_run_dir("ensemble"))
    try:
        config = configure(args)
        corpus = load_corpus(args.data, skip_bad=args.skip_bad)
        if args.smoke:
            corpus = smoke_subset(corpus)
        if args.overwrite:
            clear_run_directory(run_dir)
        run_ensemble(config, corpus, run_dir, verbose=0 if args.smoke else 2)
    except KserError as error:
        print(f"experiments.ensemble: error: {error}", file=sys.stderr)
        return 2
    print(f"kser: ensemble run in {run_dir} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
