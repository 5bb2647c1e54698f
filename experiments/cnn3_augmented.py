"""The quickstart's CNN on log-mel spectrograms, trained with the default spectral augmentation.

    python -m experiments.cnn3_augmented --data /path/to/nemo --out runs/cnn3_augmented
    python -m experiments.cnn3_augmented --smoke       # seconds: a tiny subset, 1 epoch

Augmentation ("default" for mel: SpecAugment frequency and time masks on
every clip, additive noise on half of them; `kser.augment`) is applied to
training batches only, with fresh draws every epoch; validation and test
clips are never augmented. Against `experiments.quickstart` (same model,
no augmentation) it shows what augmentation buys on unseen speakers; it
needs more epochs, hence 30 instead of 12.

Writes `runs/cnn3_augmented-<time>/` (or `--out`): report.md/.html,
metrics.json, confusion.png, predictions.csv and `bundle/`; logged to MLflow.
"""

from __future__ import annotations

import sys

from experiments.common import run_single_experiment, smoke_config
from kser.training import ExperimentConfig

CONFIG = ExperimentConfig(
    protocol="speaker",
    feature="mel",
    feature_params={"n_mels": 64},
    normalization="speaker+global",
    augment="default",
    model="cnn3",
    model_params={"width": 0.5},
    epochs=30,
    batch_size=32,
    learning_rate=2e-3,
    patience=10,
)
SMOKE_CONFIG = smoke_config(CONFIG, model_params={"width": 0.125})


def main(argv=None) -> int:
    return run_single_experiment("cnn3_augmented", __doc__, CONFIG, SMOKE_CONFIG, argv)


if __name__ == "__main__":
    sys.exit(main())
