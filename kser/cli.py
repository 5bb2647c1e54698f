"""The `kser` command line. Each subcommand is a pair of functions:
`_add_<name>_arguments(parser)` and `_run_<name>(args)`, registered in `COMMANDS`."""

from __future__ import annotations

import argparse
import sys

from kser.errors import KserError


def _add_info_arguments(parser):
    parser.add_argument("--data", help="corpus: nEMO directory, CSV file, or Hugging Face dataset")
    parser.add_argument("--skip-bad", action="store_true", help="drop bad clips, print a summary")


def _run_info(args):
    from kser.data import describe_corpus, load_corpus

    corpus = load_corpus(args.data, skip_bad=args.skip_bad)
    print(describe_corpus(corpus))


# name -> (help, add_arguments, run). Append new commands here.
COMMANDS = {
    "info": ("corpus statistics", _add_info_arguments, _run_info),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kser", description="Speech emotion recognition.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(subparsers.add_parser(name, help=help_text))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    _, _, run = COMMANDS[args.command]
    try:
        return run(args) or 0
    except KserError as error:
        print(f"kser {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
