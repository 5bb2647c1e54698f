"""Adversarial robustness on unseen speakers: FGSM / PGD sweeps, with and without the defence.

    python -m experiments.adversarial --data /path/to/nemo --out runs/adversarial
    python -m experiments.adversarial --data /path/to/nemo --models default   # ~5 min
    python -m experiments.adversarial --smoke                                # seconds

For each model (`default`: kser's default, prosody fusion on utterance
functionals; `resnet`: AudioResNet at 1/4 width on 64-band log-mel, 10
epochs) under the speaker-independent protocol:

1. train it on clean batches; attack its test speakers' clips with FGSM and
   PGD (`--pgd-steps`) over `--eps` (normalized-feature std units, the
   model's input);
2. eps* := the first tested eps at which FGSM halves its clean UAR (the
   largest tested eps if none does);
3. train it again with `adversarial_training="fgsm:eps*"` (or at `--train-eps`;
   every batch learnt clean and attacked) and attack it the same way; the two
   are compared at eps*.

The study's claim to check: at eps*, the adversarially trained model keeps at
least 15 UAR points more under FGSM while losing at most 2 points of clean
UAR. Scores are without speaker adaptation (`kser attack`'s convention).
PGD must be at least as strong as FGSM at every eps (a check of the attack).

CPU budget (2 cores, features cached): `default` about 1 min per training
run and 1 min of attacks; `resnet` about 15 min per clean run, 40 min with
adversarial training (each step attacks its batch first, then learns twice
the batch), a few minutes of attacks.

Writes into `--out`: `<model>-clean/`, `<model>-fgsm<eps>/` (run directories with
bundles; each with `attack/`: attack.json, curves.png, perturbation.png and,
for mel, Griffin-Lim WAVs), and `adversarial.md|.csv|.json` (the table) and
`adversarial_curves.png` (UAR against eps for every run and attack). Trained
runs are reused when the command is repeated with the same `--out` (so
another `--train-eps` trains only the new adversarial run).
"""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from experiments.common import (
    experiment_parser,
    prepare,
    run_variants,
    small_resnet_mel,
    smoke_config,
    write_table,
)
from kser.training import ExperimentConfig

MODELS = {
    "default": ExperimentConfig(protocol="speaker"),
    "resnet": small_resnet_mel(epochs=10),
}
SMOKE_MODELS = {
    "default": smoke_config(MODELS["default"]),
    "resnet": smoke_config(MODELS["resnet"], model_params={"width": 0.125}),
}
DEFAULT_EPS = "0.01,0.03,0.1,0.3,1.0"
# Gains the study's conclusion needs (UAR points, as fractions).
TARGET_ROBUST_GAIN = 0.15
TARGET_CLEAN_LOSS = 0.02


def main(argv=None) -> int:
    from kser.adversarial.command import parse_eps

    parser = experiment_parser(__doc__)
    parser.add_argument("--models", default="default,resnet", help="default, resnet or both")
    parser.add_argument("--eps", default=DEFAULT_EPS, help="attack radii, std units")
    parser.add_argument("--pgd-steps", type=int, default=5, help="PGD steps (default: 5)")
    parser.add_argument("--train-eps", type=float, help="adversarial training eps (default: eps*)")
    args = parser.parse_args(argv)
    setup = prepare(args, "adversarial")
    eps_values = parse_eps(args.eps)
    rows, curves = [], {}
    for model in [name.strip() for name in args.models.split(",") if name.strip()]:
        config = setup.config(MODELS[model], SMOKE_MODELS[model])
        clean = _trained_and_attacked(setup, f"{model}-clean", config, eps_values, args)
        eps_star = _eps_star(clean, eps_values)
        train_eps = args.train_eps or eps_star
        adversarial_config = dataclasses.replace(config, adversarial_training=f"fgsm:{train_eps:g}")
        robust_name = f"{model}-fgsm{train_eps:g}"
        robust = _trained_and_attacked(setup, robust_name, adversarial_config, eps_values, args)
        curves[f"{model}-clean"], curves[robust_name] = clean, robust
        rows.append(_row(model, "clean", clean, eps_star))
        rows.append(_row(model, f"fgsm:{train_eps:g}", robust, eps_star))
        verdict = _verdict(clean, robust, eps_star)
        print(f"{model}: {verdict}")
        rows[-1]["verdict"] = verdict
        rows[-2]["verdict"] = ""
    note = (
        "eps in normalized-feature std units; UAR without speaker adaptation; "
        f"targets: +{TARGET_ROBUST_GAIN:.2f} attacked UAR at eps*, at most "
        f"-{TARGET_CLEAN_LOSS:.2f} clean UAR"
    )
    print(write_table(setup.run_dir, "adversarial", "Adversarial robustness", rows, note))
    _write_curves(setup.run_dir / "adversarial_curves.png", curves)
    print(f"table: {setup.run_dir / 'adversarial.md'}; curves: adversarial_curves.png")
    return 0


def _trained_and_attacked(setup, name, config, eps_values, args) -> dict:
    """Train `config` into `<run_dir>/<name>` (or reuse it) and attack its test clips."""
    from kser.adversarial import Attack, attack_sweep
    from kser.adversarial.report import sweep_summary, write_outputs
    from kser.training import load_bundle

    run_variants(setup, {name: config})
    bundle = load_bundle(setup.run_dir / name)
    rows = bundle.split_rows(setup.corpus, "test")
    attacks = [Attack("fgsm", eps) for eps in eps_values]
    attacks += [Attack("pgd", eps, steps=args.pgd_steps, seed=config.seed) for eps in eps_values]
    sweep = attack_sweep(bundle, setup.corpus, rows, attacks, seed=config.seed)
    summary = sweep_summary(sweep, bundle=bundle, corpus=setup.corpus, part="test")
    summary = write_outputs(sweep, summary, bundle, setup.run_dir / name / "attack")
    return summary


def _eps_star(summary: dict, eps_values) -> float:
    found = summary["halving_eps"]["fgsm"]["first_tested"]
    return found if found is not None else max(eps_values)


def _uar_at(summary: dict, method: str, eps: float):
    for point in summary["attacks"]:
        if point["method"] == method and np.isclose(point["eps"], eps):
            return point["uar"]
    return None


def _row(model: str, training: str, summary: dict, eps_star: float) -> dict:
    return {
        "model": model,
        "training": training,
        "clean_uar": summary["clean"]["uar"],
        "fgsm_halving_eps": _halving_text(summary["halving_eps"]["fgsm"]),
        "eps_star": eps_star,
        "fgsm_uar_at_eps_star": _uar_at(summary, "fgsm", eps_star),
        "pgd_uar_at_eps_star": _uar_at(summary, "pgd", eps_star),
        "pgd_uar_at_most_fgsm": str(summary["pgd_at_least_as_strong"]),
        "pgd_loss_at_least_fgsm": str(summary["pgd_loss_at_least_as_high"]),
    }


def _halving_text(halving: dict) -> str:
    if halving["first_tested"] is None:
        return "not reached"
    if not halving["bracketed"]:
        return f"<= {halving['first_tested']:g}"
    return f"{halving['interpolated']:.3g}"


def _verdict(clean: dict, robust: dict, eps_star: float) -> str:
    attacked_clean = _uar_at(clean, "fgsm", eps_star)
    attacked_robust = _uar_at(robust, "fgsm", eps_star)
    if attacked_clean is None or attacked_robust is None:
        return f"eps*={eps_star:g} not in the tested eps; no comparison"
    gain = attacked_robust - attacked_clean
    loss = clean["clean"]["uar"] - robust["clean"]["uar"]
    met = gain >= TARGET_ROBUST_GAIN and loss <= TARGET_CLEAN_LOSS
    return (
        f"{'target met' if met else 'target not met'}: FGSM UAR at eps*={eps_star:g} "
        f"{attacked_clean:.3f} -> {attacked_robust:.3f} ({gain:+.3f}), clean UAR "
        f"{clean['clean']['uar']:.3f} -> {robust['clean']['uar']:.3f} ({-loss:+.3f})"
    )


def _write_curves(path, curves: dict) -> None:
    from matplotlib.figure import Figure

    from kser.evaluation.plots import _png
    from kser.paths import atomic_write_bytes

    figure = Figure(figsize=(7.5, 4.5))
    axes = figure.add_subplot()
    for name, summary in curves.items():
        for method, style in (("fgsm", "o-"), ("pgd", "s--")):
            points = [p for p in summary["attacks"] if p["method"] == method]
            eps = [p["eps"] for p in points]
            line = axes.plot(eps, [p["uar"] for p in points], style, label=f"{name} {method}")
            if method == "fgsm":
                colour = line[0].get_color()
                axes.axhline(summary["clean"]["uar"], color=colour, linewidth=0.8, linestyle=":")
    axes.set_xscale("log")
    axes.set_xlabel("eps (normalized-feature std units)")
    axes.set_ylabel("UAR (dotted: clean)")
    axes.set_ylim(0, 1)
    axes.set_title("UAR under attack, test speakers")
    axes.legend(fontsize=7)
    atomic_write_bytes(path, _png(figure))


if __name__ == "__main__":
    sys.exit(main())
