"""`kser attack`: a bundle's scores under FGSM / PGD, per eps, with figures and audio."""

from __future__ import annotations

import numpy as np

from kser.errors import KserError

DEFAULT_EPS = {
    # Normalized-feature standard deviations.
    "feature": "0.001,0.003,0.01,0.03,0.1,0.3",
    # Sample amplitude: -80 to -40 dBFS.
    "waveform": "0.0001,0.0003,0.001,0.003,0.01",
}
PARTS = ("train", "val", "test", "all")


def add_arguments(parser):
    parser.add_argument(
        "bundle", metavar="BUNDLE", help="trained-model bundle (or its run directory)"
    )
    parser.add_argument("--data", help="corpus: nEMO directory, CSV file, or Hugging Face dataset")
    parser.add_argument(
        "--part",
        choices=PARTS,
        default="test",
        help="clips of this part of the bundle's split (default: test; all: every clip)",
    )
    parser.add_argument(
        "--method", default="fgsm", help="fgsm, pgd, or both: fgsm,pgd (default: fgsm)"
    )
    parser.add_argument(
        "--domain",
        choices=("feature", "waveform"),
        default="feature",
        help="perturb the model's normalized features, or the audio through the extractor",
    )
    parser.add_argument(
        "--eps",
        help="comma-separated L-infinity radii: normalized-feature std units (feature; default "
        f"{DEFAULT_EPS['feature']}) or sample amplitude, full scale 1 (waveform; default "
        f"{DEFAULT_EPS['waveform']}, i.e. -80 to -40 dBFS)",
    )
    parser.add_argument("--steps", type=int, default=10, help="PGD steps (default: 10)")
    parser.add_argument(
        "--step-size", type=float, help="PGD step, in eps's units (default: 2.5 * eps / steps)"
    )
    parser.add_argument(
        "--examples", type=int, default=3, help="clips drawn, written as WAV (default: 3)"
    )
    parser.add_argument("--seed", type=int, default=0, help="PGD start and bootstrap seed")
    parser.add_argument("--json", metavar="FILE", help="also write attack.json here")
    parser.add_argument(
        "-o", "--out", metavar="DIR", help="output directory (default: runs/attack-<time>)"
    )
    parser.add_argument("--skip-bad", action="store_true", help="drop bad clips, print a summary")


def run(args):
    from kser.adversarial.attacks import Attack
    from kser.adversarial.report import format_summary, sweep_summary, write_outputs
    from kser.adversarial.sweep import attack_sweep
    from kser.baselines import require_keras_model
    from kser.data import load_corpus
    from kser.paths import atomic_write_json
    from kser.training import default_run_dir, load_bundle

    eps_values = parse_eps(args.eps or DEFAULT_EPS[args.domain])
    methods = [method.strip().lower() for method in args.method.split(",") if method.strip()]
    try:
        attacks = [
            Attack(method, eps, steps=args.steps, step_size=args.step_size, seed=args.seed)
            for method in methods
            for eps in eps_values
        ]
    except ValueError as error:
        raise KserError(str(error)) from None
    if args.examples < 1:
        raise KserError(f"--examples must be at least 1. Received: {args.examples}")
    bundle = load_bundle(args.bundle)
    require_keras_model(bundle, "kser attack")
    corpus = load_corpus(args.data, skip_bad=args.skip_bad)
    rows = np.arange(len(corpus)) if args.part == "all" else bundle.split_rows(corpus, args.part)
    sweep = attack_sweep(
        bundle, corpus, rows, attacks, domain=args.domain, n_examples=args.examples, seed=args.seed
    )
    summary = sweep_summary(sweep, bundle=bundle, corpus=corpus, part=args.part)
    out_dir = args.out or default_run_dir("attack")
    summary = write_outputs(sweep, summary, bundle, out_dir)
    print(format_summary(summary))
    if args.json:
        atomic_write_json(args.json, summary)
    print(f"wrote {out_dir}: attack.json, curves.png, perturbation.png, audio/")


def parse_eps(text: str) -> list[float]:
    """`"0.001,0.01"` -> `[0.001, 0.01]`: positive, ascending, no repeats."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise KserError(f"--eps takes comma-separated numbers. Received: {text!r}") from None
    if not values or any(not value > 0 for value in values):
        raise KserError(
            f"--eps values must be positive (eps=0 is the clean row). Received: {text!r}"
        )
    return sorted(set(values))
