"""VGG16 (1/4 width, 2x2-pooled input) on 64-band log-mel spectrograms, tested on unseen speakers.

    python -m experiments.vgg16_mel --data /path/to/nemo --out runs/vgg16_mel
    python -m experiments.vgg16_mel --smoke            # seconds: a tiny subset, 1 epoch

The notebook study's VGG16 reached 60.1% accuracy on mel (random,
speaker-dependent split), far below AudioResNet: plain deep stacks without
residual connections train poorly on 3,400 clips. This run measures it under
the `speaker` protocol with the same budget as `experiments.resnet_mel`, so
the two reports compare directly (`kser report runs/resnet_mel runs/vgg16_mel`).
The full-size model: `kser train --model vgg16 --feature mel --model-param width=1.0
--model-param input_pool=[1,1]`.

Writes `runs/vgg16_mel-<time>/` (or `--out`): report.md/.html, metrics.json,
confusion.png, predictions.csv and `bundle/`; logged to MLflow (`./mlruns.db`).
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
    augment="none",
    model="vgg16",
    model_params={"width": 0.25, "input_pool": [2, 2]},
    epochs=30,
    batch_size=32,
    learning_rate=1e-3,
    patience=10,
)
SMOKE_CONFIG = smoke_config(CONFIG, model_params={"width": 0.125, "input_pool": [2, 2]})


def main(argv=None) -> int:
    return run_single_experiment("vgg16_mel", __doc__, CONFIG, SMOKE_CONFIG, argv)


if __name__ == "__main__":
    sys.exit(main())
