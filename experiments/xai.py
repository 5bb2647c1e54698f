"""Are the explanations faithful? Deletion and insertion curves on unseen speakers' clips.

    python -m experiments.xai --data /path/to/nemo --out runs/xai
    python -m experiments.xai --smoke            # seconds: a tiny subset, 1 epoch

Trains (or reuses, with the same `--out`) two models under the `speaker`
protocol, without speaker adaptation (the maps explain the model itself):
AudioResNet at 1/4 width on 64-band log-mel (`--epochs`, default 5) and kser's
default model (prosody fusion on utterance functionals). On `--clips-per-class`
test clips per emotion (default 8, held-out speakers, drawn with a seed) each
method explains the predicted class; input regions (time-frequency patches of
0.25 s x 8 bands, or named groups of functionals) are removed most relevant
first, replaced by the normalization mean, in 16 steps (deletion), or put back
onto the mean (insertion). Mean AUCs with 95% bootstrap CIs per method and
class, against a random order, go to `xai.md`/`.csv`/`.json` (all clips) and
`xai_<model>.*` (per class), the mean curves to `xai_<model>_curves.png`.
Budget on 2 CPU cores: about 25 min (15 for the ResNet's 5 epochs).
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm.auto import tqdm

from experiments.common import (
    experiment_parser,
    prepare,
    run_variants,
    small_resnet_mel,
    smoke_config,
    write_table,
)
from kser.errors import KserExplainError
from kser.training import ExperimentConfig

CONFIGS = {
    "resnet_mel": small_resnet_mel(epochs=5, patience=5, speaker_adaptation=False),
    "default": ExperimentConfig(protocol="speaker", speaker_adaptation=False),
}
SMOKE_CONFIGS = {
    "resnet_mel": smoke_config(
        CONFIGS["resnet_mel"], feature_params={"n_mels": 32}, model_params={"width": 0.125}
    ),
    "default": smoke_config(CONFIGS["default"]),
}
SEED = 0
# Why a method's deletion curve may not beat random order; named in the closing note.
KNOWN_LIMITS = {
    "gradcam": "its map has the resolution of the last feature map (AudioResNet on 64 x 301 "
    "log-mel: 2 x 10 cells after 32-fold downsampling), coarser than the 0.25 s x 8-band "
    "regions it must rank, and it keeps positive evidence only",
    "saliency": "absolute gradients measure sensitivity of either sign, not evidence for the "
    "class: the regions the probability is most sensitive to include those that argue "
    "against it",
}
KNOWN_LIMITS["gradcam_pp"] = KNOWN_LIMITS["gradcam"]


def build_parser():
    from kser.xai.methods import METHODS

    parser = experiment_parser(__doc__)
    parser.add_argument("--clips-per-class", type=int, default=8, help="test clips per emotion")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated")
    return parser


def held_out_inputs(bundle, corpus, clips_per_class, seed=SEED):
    """Model inputs of `clips_per_class` test clips per emotion (normalized with all of
    their speaker's test clips, as evaluation does) and the row numbers chosen."""
    from kser.features.pipeline import extract_features

    rows = bundle.split_rows(corpus, "test")
    manifest = corpus.manifest.iloc[rows]
    # The whole corpus's features: cached when the bundle was trained.
    features = extract_features(corpus.manifest, bundle.extractor, clip_seconds=bundle.clip_seconds)
    inputs = bundle.normalizer.transform(
        features.as_numpy()[rows], manifest["speaker"].astype(str).to_numpy()
    )
    rng = np.random.default_rng(seed)
    emotions = manifest["emotion"].to_numpy()
    chosen = np.sort(
        np.concatenate(
            [
                rng.permutation(np.flatnonzero(emotions == emotion))[:clips_per_class]
                for emotion in bundle.labels
            ]
        )
    )
    return inputs[chosen], chosen


def evaluate_methods(bundle, inputs, methods):
    """`(rows, results, skipped, conservation)`: the summary rows, curves per method, why
    methods that cannot explain this model were skipped, and LRP's largest relative
    conservation error over the clips per rule."""
    import keras

    from kser.xai.faithfulness import compare_methods, summary_rows
    from kser.xai.lrp import lrp
    from kser.xai.methods import LRP_RULES, attribute
    from kser.xai.segments import input_segmentation

    logits = keras.ops.convert_to_numpy(bundle.model.predict(inputs, verbose=0))
    targets = logits.argmax(axis=1)
    segmentation = input_segmentation(bundle.extractor, inputs.shape[1:])
    maps, skipped = {}, {}
    for method in tqdm(methods, desc="methods", leave=False):
        try:
            maps[method] = attribute(
                method, bundle.model, inputs, targets, segmentation=segmentation, seed=SEED
            )
        except KserExplainError as error:
            skipped[method] = str(error)
    conservation = {
        method: float(lrp(bundle.model, inputs, targets, rule).conservation_error.max())
        for method, rule in LRP_RULES.items()
        if method in maps
    }
    results = compare_methods(bundle.model, inputs, targets, segmentation, maps, seed=SEED)
    rows = summary_rows(results, targets, bundle.labels, seed=SEED)
    return rows, results, skipped, conservation


def mean_curves(results: dict) -> dict:
    """`{"deletion"|"insertion": {method: (fractions, mean curve over clips)}}` of
    `evaluate_methods`'s curves, as `kser.xai.plots.curves_png` draws them."""
    return {
        kind: {
            method: (curve.fractions, getattr(curve, kind).mean(axis=0))
            for method, curve in results.items()
        }
        for kind in ("deletion", "insertion")
    }


def main(argv=None) -> int:
    from kser.paths import atomic_write_bytes
    from kser.training import load_bundle
    from kser.xai.plots import curves_png

    args = build_parser().parse_args(argv)
    setup = prepare(args, "xai")
    configs = {name: setup.config(CONFIGS[name], SMOKE_CONFIGS[name]) for name in CONFIGS}
    run_variants(setup, configs)
    methods = [method.strip() for method in args.methods.split(",") if method.strip()]
    clips_per_class = 2 if args.smoke else args.clips_per_class
    overall, notes = [], []
    for name in configs:
        bundle = load_bundle(setup.run_dir / name)
        inputs, _ = held_out_inputs(bundle, setup.corpus, clips_per_class)
        print(f"{name}: explaining {len(inputs)} held-out clips")
        rows, results, skipped, conservation = evaluate_methods(bundle, inputs, methods)
        for row in rows:
            row["model"] = name
        write_table(setup.run_dir, f"xai_{name}", f"Deletion/insertion AUCs: {name}", rows)
        atomic_write_bytes(
            setup.run_dir / f"xai_{name}_curves.png",
            curves_png(
                mean_curves(results), f"{name}: {len(inputs)} held-out clips, mean over clips"
            ),
        )
        overall += [row for row in rows if row["class"] == "all"]
        notes.append(_closing_note(name, rows, skipped, conservation))
    columns = ("model", "method", "clips", "deletion_auc", "deletion_ci", "insertion_auc",
               "insertion_ci", "below_random")  # fmt: skip
    table = write_table(
        setup.run_dir,
        "xai",
        "Deletion (lower is better) and insertion (higher) AUCs, all held-out clips",
        [{column: row[column] for column in columns} for row in overall],
        note="\n".join(notes),
    )
    print(table)
    print("\n".join(notes))
    print(f"tables: {setup.run_dir / 'xai.md'}; curves: {setup.run_dir}/xai_<model>_curves.png")
    return 0


def _closing_note(name, rows, skipped, conservation) -> str:
    """Which methods beat random order on deletion (non-overlapping 95% CIs), which failed
    and why, and how well LRP conserved relevance."""
    everyone = [row for row in rows if row["class"] == "all" and row["method"] != "random"]
    below = [row["method"] for row in everyone if row["below_random"]]
    failed = [row["method"] for row in everyone if not row["below_random"]]
    parts = [f"{name}: deletion AUC below random with non-overlapping 95% CIs: "
             f"{', '.join(below) or 'none'}"]  # fmt: skip
    parts += [
        f"not below random: {method}"
        + (f" ({KNOWN_LIMITS[method]})" if method in KNOWN_LIMITS else "")
        for method in failed
    ]
    parts += [f"{method} not run: {why}" for method, why in skipped.items()]
    parts += [
        f"{method} conservation: relevance + bias share within {100 * error:.4f}% of the logit"
        for method, error in conservation.items()
    ]
    return "; ".join(parts) + "."


if __name__ == "__main__":
    sys.exit(main())
