"""Predict with an exported directory while some modules cannot be imported (run as a script).

    python -m tests.export.runtime_checks --block tensorflow,keras [--cli] DIR AUDIO...
    python -m tests.export.runtime_checks --block tensorflow --kser train --data DIR ...

prints the probabilities as JSON, or the `KserError` message and exits 2.
`--cli` predicts through `kser predict DIR AUDIO... --json` instead of the API;
`--kser ARGS...` runs any kser command and exits with its status. The
blocker sits first on `sys.meta_path`, so even an installed package fails to
import, as on a machine where it is missing.
"""

import argparse
import importlib.abc
import json
import sys


class Blocker(importlib.abc.MetaPathFinder):
    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r} (blocked)", name=fullname)
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--block", required=True)
    parser.add_argument("--cli", action="store_true")
    parser.add_argument("--kser", nargs=argparse.REMAINDER)
    parser.add_argument("directory", nargs="?")
    parser.add_argument("audio", nargs="*")
    args = parser.parse_args()
    blocked = args.block.split(",")
    sys.meta_path.insert(0, Blocker(blocked))
    if args.kser:
        from kser.cli import main as kser

        sys.exit(kser(args.kser))

    if args.cli:
        probabilities = _predict_with_the_cli(args.directory, args.audio)
    else:
        from kser.errors import KserError
        from kser.runtime import load_exported

        try:
            predictions = load_exported(args.directory).predict_files(args.audio)
        except KserError as error:
            print(error)
            sys.exit(2)
        probabilities = [p.probabilities.tolist() for p in predictions]
    loaded = sorted(name for name in blocked if name in sys.modules)
    print(json.dumps({"loaded": loaded, "probabilities": probabilities}))


def _predict_with_the_cli(directory, audio):
    import tempfile
    from pathlib import Path

    from kser.cli import main as kser

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "predictions.json"
        code = kser(["predict", directory, *audio, "--json", str(path)])
        if code:
            sys.exit(code)
        predicted = json.loads(path.read_text())
    return [list(p["probabilities"].values()) for p in predicted]


if __name__ == "__main__":
    main()
