"""Learned-weight ensembles of per-feature members, tuned only on out-of-fold predictions.

The whole workflow (members cross-fitted, the combiner tuned, tested, reported):

    config = EnsembleConfig(members=ensemble_members("functionals,prosody:kernel"))
    summaries = run_ensemble(config, load_corpus("data/nemo"), "runs/ensemble")

Its parts:

    folds = member_folds(corpus, np.union1d(split.train, split.val))
    oof = OutOfFoldPredictions(num_classes=6, directory=run_dir / "oof")
    oof.add("mel_cnn3", fold.name, rows=fold.holdout, logits=..., trained_on=fold.trained_on)
    member_logits = oof.member_logits(["mel_cnn3", "hpss_cnn3"])
    tuned = tune_combiner(member_logits, labels[member_logits.rows], run_dir / "tuner")

The ensemble itself is `kser.models.WeightedEnsemble`; `kser ensemble`
(`kser.ensemble.command`) runs the workflow from the command line. Names are
imported on first use, so `kser ensemble --help` does not load TensorFlow.
"""

from kser.lazy import lazy_attributes

# name -> the submodule that defines it.
_EXPORTS = {
    "combined_logits": "combiner",
    "cross_fitted_logits": "combiner",
    "fit_combiner": "combiner",
    "fit_temperature": "combiner",
    "negative_log_likelihood": "combiner",
    "uar_of_logits": "combiner",
    "DEFAULT_MEMBERS": "config",
    "EnsembleConfig": "config",
    "ensemble_members": "config",
    "MemberFold": "speaker_folds",
    "member_folds": "speaker_folds",
    "Member": "members",
    "FoldPredictions": "out_of_fold",
    "OutOfFoldPredictions": "out_of_fold",
    "MemberLogits": "out_of_fold",
    "AdaptedUar": "tuning",
    "TuningResult": "tuning",
    "tune_combiner": "tuning",
    "run_ensemble": "workflow",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_attributes(__name__, _EXPORTS)
