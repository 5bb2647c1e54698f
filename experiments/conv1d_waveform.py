"""A 1-D CNN on the raw waveform (no hand-made features), tested on unseen speakers.

    python -m experiments.conv1d_waveform --data /path/to/nemo --out runs/conv1d_waveform
    python -m experiments.conv1d_waveform --smoke      # seconds: a tiny subset, 1 epoch

The notebook study's Conv1D reached 82.8% accuracy on waveforms (random,
speaker-dependent split). The input is the "waveform" extractor's
`(1, 48000)` samples of a 3 s clip at 16 kHz, normalized per speaker (a
per-speaker gain) and then globally; the first convolution strides by 4 so
the network sees 12,000 steps. The waveform cache of all of nEMO takes about
650 MB on disk and in memory.

Writes `runs/conv1d_waveform-<time>/` (or `--out`): report.md/.html,
metrics.json, confusion.png, predictions.csv and `bundle/`; logged to MLflow.
"""

from __future__ import annotations

import sys

from experiments.common import run_single_experiment, smoke_config
from kser.training import ExperimentConfig

CONFIG = ExperimentConfig(
    protocol="speaker",
    feature="waveform",
    normalization="speaker+global",
    augment="none",
    model="conv1d",
    model_params={"stem_stride": 4},
    epochs=30,
    batch_size=32,
    learning_rate=1e-3,
    patience=10,
)
SMOKE_CONFIG = smoke_config(CONFIG, model_params={"stem_stride": 16})


def main(argv=None) -> int:
    return run_single_experiment("conv1d_waveform", __doc__, CONFIG, SMOKE_CONFIG, argv)


if __name__ == "__main__":
    sys.exit(main())
