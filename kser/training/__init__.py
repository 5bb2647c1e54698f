"""Training, experiment tracking and trained-model bundles.

outcome = run_experiment(load_corpus(), ExperimentConfig(epochs=10), "runs/demo",
                         tracker=Tracker())
bundle = load_bundle(outcome.splits[0].bundle_directory)
bundle.predict_files(["clip.wav"])
"""

from kser.inference.bundle import Bundle, FilePrediction, load_bundle, save_bundle
from kser.training.cross_validation import CrossValidationOutcome, run_cross_validation
from kser.training.run import (
    ExperimentConfig,
    ExperimentOutcome,
    default_model,
    default_run_dir,
    run_experiment,
)
from kser.training.tracking import Tracker
from kser.training.trainer import TrainingResult, seed_everything, train

__all__ = [
    "Bundle",
    "CrossValidationOutcome",
    "ExperimentConfig",
    "ExperimentOutcome",
    "FilePrediction",
    "Tracker",
    "TrainingResult",
    "default_model",
    "default_run_dir",
    "load_bundle",
    "run_cross_validation",
    "run_experiment",
    "save_bundle",
    "seed_everything",
    "train",
]
