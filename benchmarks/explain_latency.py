"""How long `kser explain` takes on one 3 s clip with Grad-CAM, SmoothGrad and integrated
gradients (target: under 10 s on 2 CPU cores).

    python -m benchmarks.explain_latency [--bundle DIR] [--clip AUDIO] [--runs 3]

Without `--bundle` it saves an AudioResNet (width 0.25) bundle on 64-band
log-mel of 3 s clips with random weights (the same compute as a trained one);
without `--clip`, a 3 s synthetic vowel-like clip. It times the whole command
as a user runs it (`python -m kser.cli explain ...`, a fresh process: imports,
bundle loading, extraction, the three methods, PNGs and HTML), and the
command's work alone in this process after a warm-up run. Prints medians and
the ratio to the 10 s target.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_SECONDS = 10.0
METHODS = "gradcam,saliency,ig"


def synthetic_bundle(directory: Path) -> Path:
    from kser import features
    from kser.data.labels import EMOTIONS
    from kser.features.normalization import Normalizer
    from kser.models import build_model
    from kser.training import Bundle, save_bundle, seed_everything

    extractor = features.get("mel", n_mels=64)
    n_frames = extractor.n_frames(3 * 16000)
    seed_everything(0)
    model = build_model("audio_resnet", (64, n_frames), num_classes=len(EMOTIONS), width=0.25)
    train = np.random.default_rng(0).normal(-40, 10, size=(8, 64, n_frames))
    normalizer = Normalizer("speaker+global").fit(train, np.repeat(["a", "b"], 4))
    bundle = Bundle(model, extractor, normalizer, tuple(EMOTIONS), 3.0, {})
    return save_bundle(bundle, directory / "bundle")


def synthetic_clip(directory: Path) -> Path:
    import soundfile

    t = np.arange(3 * 16000) / 16000
    pitch = 180 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / 16000
    samples = sum(np.sin(k * phase) / k for k in range(1, 12)) * 0.1
    path = directory / "clip.wav"
    soundfile.write(path, samples.astype("float32"), 16000)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle")
    parser.add_argument("--clip")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    from kser.cli import main as kser_main

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        bundle = args.bundle or str(synthetic_bundle(scratch))
        clip = args.clip or str(synthetic_clip(scratch))
        command = ["explain", bundle, clip, "--method", METHODS, "-o", str(scratch / "out")]
        fresh = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "kser.cli", *command], check=True,
                           capture_output=True)  # fmt: skip
            fresh.append(time.perf_counter() - started)
        kser_main(command)  # warm-up: traces the graphs once
        warm = []
        for _ in range(args.runs):
            started = time.perf_counter()
            kser_main(command)
            warm.append(time.perf_counter() - started)
    fresh_median, warm_median = statistics.median(fresh), statistics.median(warm)
    print(f"kser explain, one 3 s clip, {METHODS}, {args.runs} runs each")
    print(f"  fresh process (as a user runs it): median {fresh_median:.2f} s "
          f"({', '.join(f'{s:.2f}' for s in fresh)}); target/measured = "
          f"{TARGET_SECONDS / fresh_median:.2f}")  # fmt: skip
    print(f"  in-process after a warm-up:       median {warm_median:.2f} s "
          f"({', '.join(f'{s:.2f}' for s in warm)}); target/measured = "
          f"{TARGET_SECONDS / warm_median:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
