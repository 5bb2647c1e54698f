"""How many clips of a new voice does the default model need? UAR against clips per speaker.

    python -m experiments.clips_per_speaker --data /path/to/nemo   # ~30 min on 2 CPU cores
    python -m experiments.clips_per_speaker --data ... --also runs/old-loso=before
    python -m experiments.clips_per_speaker --smoke                # seconds: a tiny subset

Leave-one-speaker-out, each fold's bundle scores its test speaker's clips in
random groups of N (N = 1: each clip alone, as `kser predict clip.wav` does;
"all": every clip of the speaker together), N in `GROUP_SIZES`, with the
per-speaker statistics and speaker adaptation each bundle was given. Variants:

- `default`: kser's default (`ExperimentConfig()`): speaker statistics shrunk
  towards the population's by the clips known, trained on random subsets of
  each speaker's clips, prior weight and adaptation growth chosen on the
  validation speaker.
- `no_subsets`: the same prior, trained with each speaker's full statistics.
- `global`: no per-speaker normalization at all (z-scored with training
  statistics), the best a model can do for one clip without speaker statistics.
- `voice`: the default with a voice-matched prior (`ExperimentConfig.voice_prior`):
  a group is shrunk towards a mixture of the training speakers' statistics
  weighted by their similarity to the group, not the population's.

`--variants NAME ...` trains those instead of `default global no_subsets`
(e.g. only a changed default, or `voice`), and `--also` brings in the other
variants' finished runs.

`--also DIR=NAME` adds the fold bundles of an existing LOSO run (e.g. one
made before speaker priors existed). Writes `clips_per_speaker.{md,csv,json}`
(mean UAR over folds ± std per N) and `clips_per_speaker.png` into the run
directory; each variant's runs in `<run_dir>/<variant>/`.
"""

from __future__ import annotations

import dataclasses
import io
import sys
from pathlib import Path

import numpy as np

from experiments.common import experiment_parser, prepare, smoke_config, write_table
from kser.errors import KserError
from kser.training import ExperimentConfig, run_cross_validation

GROUP_SIZES = (1, 2, 5, 10, 20, None)
CONFIG = ExperimentConfig(protocol="loso")
VARIANTS = {
    "default": CONFIG,
    "global": dataclasses.replace(CONFIG, normalization="global", speaker_prior=False),
    "no_subsets": dataclasses.replace(CONFIG, speaker_subsets=False),
    "voice": dataclasses.replace(CONFIG, voice_prior=True),
}
# Trained when --variants is not given (voice: measured, not better; docs/speakers.md).
DEFAULT_VARIANTS = ("default", "global", "no_subsets")


def main(argv=None) -> int:
    parser = experiment_parser(__doc__)
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="DIR=NAME",
        help="also score the fold bundles of this finished LOSO run under NAME",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random groups")
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=tuple(VARIANTS),
        default=DEFAULT_VARIANTS,
        metavar="NAME",
        help=f"variants to train and score, of {', '.join(VARIANTS)} "
        f"(default: {' '.join(DEFAULT_VARIANTS)})",
    )
    args = parser.parse_args(argv)
    setup = prepare(args, "clips-per-speaker")
    configs = {
        name: setup.config(VARIANTS[name], smoke_config(VARIANTS[name])) for name in args.variants
    }
    directories = {}
    for name, config in configs.items():
        directories[name] = setup.run_dir / name
        # Folds already finished there are read, not retrained.
        run_cross_validation(setup.corpus, config, directories[name], tracker=setup.tracker)
    for pair in args.also:
        directory, _, name = pair.partition("=")
        directories[name or Path(directory).name] = Path(directory)
    uars = {
        name: uar_by_group_size(directory, setup.corpus, args.seed)
        for name, directory in directories.items()
    }
    rows = [
        {"variant": name, "folds": len(values[None])}
        | {_column(size): f"{np.mean(v):.3f} ± {np.std(v):.3f}" for size, v in values.items()}
        for name, values in uars.items()
    ]
    note = (
        "Mean test UAR over the leave-one-speaker-out folds (± std over folds) when each "
        "test speaker's clips are scored in random groups of N (seed "
        f"{args.seed}); 'all': every clip of the speaker together."
    )
    print(write_table(setup.run_dir, "clips_per_speaker", "UAR by clips per speaker", rows, note))
    plot_path = plot_uar_by_group_size(uars, setup.run_dir / "clips_per_speaker.png")
    print(f"plot: {plot_path}")
    return 0


def uar_by_group_size(run_dir: Path, corpus, seed: int) -> dict:
    """`{N: [test UAR of each fold bundle in run_dir]}` for N in `GROUP_SIZES`."""
    from kser.training import load_bundle

    bundles = sorted(run_dir.glob("*/bundle/bundle.json"))
    if not bundles:
        raise KserError(f"{run_dir}: no fold bundles (*/bundle) to score")
    uars = {size: [] for size in GROUP_SIZES}
    for path in bundles:
        bundle = load_bundle(path.parent)
        rows = bundle.split_rows(corpus, "test")
        for size in GROUP_SIZES:
            result = bundle.evaluate(corpus, rows, seed=seed, clips_per_speaker=size)
            uars[size].append(result.uar)
    return uars


def plot_uar_by_group_size(uars: dict, path: Path) -> Path:
    """Mean UAR over folds (± std) against N, a line per variant of `uars`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kser.paths import atomic_write_bytes

    figure, axes = plt.subplots(figsize=(6, 4))
    positions = np.arange(len(GROUP_SIZES))
    for name, values in uars.items():
        means = [np.mean(values[size]) for size in GROUP_SIZES]
        spreads = [np.std(values[size]) for size in GROUP_SIZES]
        axes.errorbar(positions, means, yerr=spreads, marker="o", capsize=3, label=name)
    axes.axhline(1 / 6, color="grey", linestyle=":", label="chance")
    axes.set_xticks(positions, [_column(size)[2:] for size in GROUP_SIZES])
    axes.set_xlabel("clips of the test speaker known together (N)")
    axes.set_ylabel("UAR, mean over LOSO folds")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    return atomic_write_bytes(path, buffer.getvalue())


def _column(size) -> str:
    return "N=all" if size is None else f"N={size}"


if __name__ == "__main__":
    sys.exit(main())
