"""Learned-weight ensembles of per-feature members, tuned only on out-of-fold predictions.

    folds = member_folds(corpus, np.union1d(split.train, split.val))
    oof = OutOfFoldPredictions(num_classes=6, directory=run_dir / "oof")
    oof.add("mel_cnn3", fold.name, rows=fold.holdout, logits=..., trained_on=fold.trained_on)
    stacked = oof.stacked(["mel_cnn3", "hpss_cnn3"])
    tuned = tune_combiner(stacked, labels[stacked.rows], run_dir / "tuner")

The ensemble itself is `kser.models.WeightedEnsemble`.
"""

from kser.ensemble.combiner import (
    combined_logits,
    cross_fitted_logits,
    fit_combiner,
    fit_temperature,
    negative_log_likelihood,
    uar_of_logits,
)
from kser.ensemble.folds import MemberFold, member_folds
from kser.ensemble.out_of_fold import FoldPredictions, OutOfFoldPredictions, StackedPredictions
from kser.ensemble.tuning import AdaptedUar, TuningResult, tune_combiner

__all__ = [
    "AdaptedUar",
    "FoldPredictions",
    "MemberFold",
    "OutOfFoldPredictions",
    "StackedPredictions",
    "TuningResult",
    "combined_logits",
    "cross_fitted_logits",
    "fit_combiner",
    "fit_temperature",
    "member_folds",
    "negative_log_likelihood",
    "tune_combiner",
    "uar_of_logits",
]
