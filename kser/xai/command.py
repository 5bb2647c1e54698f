"""`kser explain BUNDLE AUDIO... [--method ...] [--target predicted|EMOTION] -o DIR`."""

from __future__ import annotations

# Only the names here: `kser --help` builds every command's parser.
from kser.xai.method_names import DEFAULT_METHODS, METHODS


def add_arguments(parser):
    parser.add_argument(
        "bundle", metavar="BUNDLE", help="trained-model bundle (or its run directory)"
    )
    parser.add_argument("paths", nargs="+", metavar="AUDIO", help="audio files or folders")
    parser.add_argument(
        "--method",
        default=",".join(DEFAULT_METHODS),
        help=f"comma-separated, among {','.join(METHODS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--target",
        default="predicted",
        help="the class explained: predicted (each clip's own) or an emotion name",
    )
    parser.add_argument("--seed", type=int, default=0, help="SmoothGrad and LIME seed")
    parser.add_argument("-o", "--out", required=True, metavar="DIR", help="output directory")


def run(args):
    from tqdm.auto import tqdm

    from kser.baselines import require_keras_model
    from kser.training import load_bundle
    from kser.xai.explainer import explain_files
    from kser.xai.report import EXPLANATIONS_FILE, HTML_FILE, write_explanations

    bundle = load_bundle(args.bundle)
    require_keras_model(bundle, "kser explain")
    methods = [method.strip() for method in args.method.split(",") if method.strip()]
    with tqdm(desc="explain", unit="step", leave=False) as bar:
        explanations, parts = explain_files(
            bundle,
            args.paths,
            methods=methods,
            target=args.target,
            seed=args.seed,
            progress=lambda text: (bar.set_postfix_str(text), bar.update()),
        )
    directory = write_explanations(explanations, parts, args.out)
    for explanation in explanations:
        shown = ", ".join(explanation.maps)
        print(
            f"{explanation.path}: predicted {explanation.emotion}, explained "
            f"{explanation.labels[explanation.target]} with {shown or 'no method'}"
        )
        for what, why in explanation.skipped.items():
            print(f"  not run: {what}: {why}")
    print(f"wrote {directory / HTML_FILE} and {directory / EXPLANATIONS_FILE}")
