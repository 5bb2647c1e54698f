"""Parallel Conv1D + BiLSTM on two frame-level descriptors: zero-crossing rate and RMS energy.

    python -m experiments.zcr_rms_bilstm --data /path/to/nemo --out runs/zcr_rms_bilstm
    python -m experiments.zcr_rms_bilstm --smoke       # seconds: a tiny subset, 1 epoch

ZCR (how noisy or voiced each 10 ms frame is) and RMS (how loud) alone were
the study's weakest inputs for a ResNet (27.9% and 34.3% accuracy); here they
are read together, as one `(2, n_frames)` sequence (the "stack" extractor:
`kser.features.get("stack", features=["zcr", "rms"])`), by a model built for
sequences: a convolutional path for local patterns and a BiLSTM path for the
contour of the whole utterance. Normalization is per bin, so the two
descriptors' unrelated scales do not matter.

Writes `runs/zcr_rms_bilstm-<time>/` (or `--out`): report.md/.html,
metrics.json, confusion.png, predictions.csv and `bundle/`; logged to MLflow.
"""

from __future__ import annotations

import sys

from experiments.common import run_single_experiment, smoke_config
from kser.training import ExperimentConfig

CONFIG = ExperimentConfig(
    protocol="speaker",
    feature="stack",
    feature_params={"features": ["zcr", "rms"]},
    normalization="speaker+global",
    augment="none",
    model="parallel_conv_bilstm",
    epochs=30,
    batch_size=32,
    learning_rate=1e-3,
    patience=10,
)
SMOKE_CONFIG = smoke_config(
    CONFIG,
    model_params={"conv_filters": [8, 16], "lstm_units": 8, "lstm_layers": 1, "dense_units": [16]},
)


def main(argv=None) -> int:
    return run_single_experiment("zcr_rms_bilstm", __doc__, CONFIG, SMOKE_CONFIG, argv)


if __name__ == "__main__":
    sys.exit(main())
