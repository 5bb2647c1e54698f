"""`kser ensemble`: a learned-weight ensemble of per-feature members, tuned out of fold.

kser ensemble --data data/nemo --out runs/ensemble                  # loso, 4 members
kser ensemble --data data/nemo --protocol speaker --members stack,mel,hpss:cnn3
kser ensemble --data data/nemo --comparison runs/features --top-k 3
"""

from __future__ import annotations

import argparse

# Options left out keep `EnsembleConfig`'s defaults; its checks refuse bad values.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="corpus: nEMO directory, CSV file, or Hugging Face dataset")
    parser.add_argument("--out", help="run directory (default: runs/ensemble-<time>)")
    parser.add_argument(
        "--protocol",
        help="loso: cross-fitted over every speaker (default); speaker: one test split, "
        "nested member folds",
    )
    parser.add_argument("--fold", action="append", help="loso: test only this outer fold")
    parser.add_argument(
        "--members",
        help="feature[:model], comma-separated (default: functionals,prosody:kernel,stack,"
        "mfcc_functionals)",
    )
    parser.add_argument(
        "--comparison", nargs="+", metavar="RUN_DIR", help="take the best features of these runs"
    )
    parser.add_argument("--top-k", type=int, default=3, help="members taken from --comparison")
    parser.add_argument(
        "--model", help="architecture of members named without one (default: the feature's usual)"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="default: the member model's usual (40 for linear models, else 20)",
    )
    parser.add_argument(
        "--folds",
        type=int,
        dest="member_folds",
        metavar="N",
        help="speaker protocol: member folds of the development speakers (default: 5)",
    )
    parser.add_argument("--max-trials", type=int, help="KerasTuner trials (default: 30)")
    parser.add_argument("--seed", type=int, help="split, training and tuning seed (default: 42)")
    parser.add_argument("--skip-bad", action="store_true", help="drop bad clips, print a summary")
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh in an --out that holds another run"
    )


_ENSEMBLE_OPTIONS = ("protocol", "member_folds", "max_trials", "seed")


def ensemble_config(args, base=None, feature_params=None):
    """The `EnsembleConfig` of `kser ensemble` arguments, every option checked.

    `base` and `feature_params`: the members' recipe (see `ensemble_members`).
    """
    from kser.ensemble.config import (
        DEFAULT_MEMBERS,
        MEMBER_CONFIG,
        EnsembleConfig,
        ensemble_members,
        ranked_features,
    )

    if args.members:
        specs = args.members
    elif args.comparison:
        specs = ranked_features(args.comparison, args.top_k)
    else:
        specs = DEFAULT_MEMBERS
    members = ensemble_members(
        specs,
        base=base or MEMBER_CONFIG,
        model=args.model,
        epochs=args.epochs,
        feature_params=feature_params,
    )
    given = {
        name: getattr(args, name) for name in _ENSEMBLE_OPTIONS if getattr(args, name) is not None
    }
    return EnsembleConfig(members=members, folds=args.fold, **given)


def run(args) -> int:
    import time
    from pathlib import Path

    from kser.data import load_corpus
    from kser.ensemble.workflow import run_ensemble
    from kser.training import default_run_dir
    from kser.training.run_directory import (
        check_run_directory,
        clear_run_directory,
        interruption_summary,
    )

    start = time.perf_counter()
    config = ensemble_config(args)
    run_dir = Path(args.out or default_run_dir("ensemble"))
    # Checked before the corpus loads: a wrong --out fails in a second.
    if not args.overwrite:
        check_run_directory(run_dir, config, finished_ok=True)
    corpus = load_corpus(args.data, skip_bad=args.skip_bad)
    if args.overwrite:
        clear_run_directory(run_dir)
    try:
        run_ensemble(config, corpus, run_dir)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(interruption_summary(run_dir)) from None
    print(f"kser: ensemble run in {run_dir} ({time.perf_counter() - start:.0f} s)")
    return 0
