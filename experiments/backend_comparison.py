"""The same model, seed and split trained on the TensorFlow and on the torch backend:
UAR, seconds per epoch, inference latency.

    python -m experiments.backend_comparison --data /path/to/nemo --out runs/backends
    python -m experiments.backend_comparison --backends torch     # one backend only
    python -m experiments.backend_comparison --smoke              # a minute: tiny subset

Keras reads KERAS_BACKEND once, at import, so each backend trains in its own
subprocess (`--worker`, with KERAS_BACKEND set), into `<out>/<backend>/`: the
configuration of `experiments.resnet_mel` with 10 epochs, the same split, seed
and cached features. Seconds per epoch is the training time over the epochs
run, so it includes the first epoch's graph tracing. Each worker then times
the trained model's forward pass on one clip (median of 50 calls after 5
warm-up calls) and on a batch of 32.

The features and the data pipeline are TensorFlow (tf.data) in both runs;
only the model's training and inference change backend.

Weights are initialised from the same seed but by each backend's own random
generator, and kernels differ, so the two UARs are two draws of the same
recipe, not a bit-exact replay.

Writes backend_comparison.md/.csv/.json (backend, UAR with 95% CI, accuracy,
epochs run, seconds per epoch, latency in ms) and each backend's run
directory (report, bundle, backend.json). Finished backends are not rerun.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from experiments.common import experiment_parser, prepare, write_table
from experiments.resnet_mel import CONFIG as RESNET_MEL_CONFIG
from experiments.resnet_mel import SMOKE_CONFIG

BACKENDS = ("tensorflow", "torch")
CONFIG = dataclasses.replace(RESNET_MEL_CONFIG, epochs=10)
RESULT_FILE = "backend.json"
LATENCY_WARMUP = 5
LATENCY_CALLS = 50
THROUGHPUT_BATCH = 32


def build_parser():
    parser = experiment_parser(__doc__)
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated (default: both)"
    )
    parser.add_argument("--worker", action="store_true", help="internal: train on $KERAS_BACKEND")
    return parser


def forward_latency_ms(model, batch_size: int, calls=LATENCY_CALLS, warmup=LATENCY_WARMUP):
    """Median wall time of `model.predict_on_batch` on a `batch_size` batch, in ms."""
    import numpy as np

    inputs = np.random.default_rng(0).normal(size=(batch_size, *model.input_shape[1:]))
    inputs = inputs.astype(np.float32)
    for _ in range(warmup):
        model.predict_on_batch(inputs)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        model.predict_on_batch(inputs)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def run_worker(args) -> int:
    """Train on this process's backend, measure it, write `<out>/backend.json`."""
    import keras

    from kser.paths import atomic_write_json
    from kser.training import load_bundle, run_experiment

    setup = prepare(args, f"backend-{keras.backend.backend()}")
    config = setup.config(CONFIG, SMOKE_CONFIG)
    outcome = run_experiment(setup.corpus, config, setup.run_dir, tracker=setup.tracker, verbose=2)
    split = outcome.splits[0]
    model = load_bundle(split.bundle_directory).model
    latency = forward_latency_ms(model, 1)
    batch_latency = forward_latency_ms(model, THROUGHPUT_BATCH)
    evaluation = split.evaluation
    atomic_write_json(
        setup.run_dir / RESULT_FILE,
        {
            "backend": keras.backend.backend(),
            "keras_version": keras.__version__,
            "uar": evaluation.uar,
            "uar_ci": list(evaluation.uar_ci) if evaluation.uar_ci else None,
            "accuracy": evaluation.accuracy,
            "epochs_run": split.training.epochs_run,
            "best_epoch": split.training.best_epoch,
            "training_seconds": split.training.seconds,
            "seconds_per_epoch": split.training.seconds / split.training.epochs_run,
            "latency_ms_batch_1": latency,
            "latency_ms_per_clip_batch_32": batch_latency / THROUGHPUT_BATCH,
        },
    )
    return 0


def worker_command(args, backend_dir: Path) -> list[str]:
    """This script as a worker, with the options of this invocation that the worker needs."""
    command = [sys.executable, "-m", "experiments.backend_comparison", "--worker"]
    command += ["--out", str(backend_dir)]
    options = (("--data", args.data), ("--epochs", args.epochs), ("--mlflow-uri", args.mlflow_uri))
    for option, value in options:
        if value is not None:
            command += [option, str(value)]
    flags = (("--smoke", args.smoke), ("--no-mlflow", args.no_mlflow))
    command += [flag for flag, given in flags if given]
    return command


def main(argv=None) -> int:
    from kser.errors import KserError
    from kser.training import default_run_dir

    args = build_parser().parse_args(argv)
    if args.worker:
        return run_worker(args)
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = [name for name in backends if name not in BACKENDS]
    if unknown or not backends:
        raise KserError(f"--backends takes names among {BACKENDS}. Received: {args.backends!r}")
    run_dir = Path(args.out or default_run_dir("backend_comparison"))
    results = {}
    for backend in backends:
        backend_dir = run_dir / backend
        if (backend_dir / RESULT_FILE).is_file():
            print(f"{backend}: finished run in {backend_dir}, not rerun")
        else:
            print(f"{backend}: training in a subprocess into {backend_dir}")
            environment = {**os.environ, "KERAS_BACKEND": backend}
            subprocess.run(worker_command(args, backend_dir), env=environment, check=True)
        results[backend] = json.loads((backend_dir / RESULT_FILE).read_text(encoding="utf-8"))
    rows = [
        {
            "backend": result["backend"],
            "uar": result["uar"],
            "uar_ci": result["uar_ci"],
            "accuracy": result["accuracy"],
            "epochs_run": result["epochs_run"],
            "seconds_per_epoch": result["seconds_per_epoch"],
            "latency_ms_batch_1": result["latency_ms_batch_1"],
            "latency_ms_per_clip_batch_32": result["latency_ms_per_clip_batch_32"],
        }
        for result in results.values()
    ]
    title = "AudioResNet on mel, speaker protocol: TensorFlow vs torch backend"
    note = "Latency: median forward pass of the trained model (predict_on_batch), in ms."
    print()
    print(write_table(run_dir, "backend_comparison", title, rows, note))
    print(f"\ntable: {run_dir / 'backend_comparison.md'} (also .csv, .json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
