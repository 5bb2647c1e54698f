"""Strip outputs, execution counts and run metadata from notebooks, or check that none are left.

    python tools/strip_notebooks.py                    # every notebooks/*.ipynb, in place
    python tools/strip_notebooks.py path/to/a.ipynb    # the notebooks named
    python tools/strip_notebooks.py --check            # exit 1 naming notebooks with outputs

Notebooks are committed without outputs: outputs are large, differ from one
run to the next and can hold paths of the machine that ran them. A cell keeps
its `tags` (the `parameters` tag is how papermill finds the smoke switch);
the execution timings nbclient records in a cell's metadata are dropped.
Files are rewritten atomically, in nbformat's own layout (one-space indent,
keys sorted), so a stripped notebook diffs cleanly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
# Per-cell metadata that a run writes; everything else (tags, ...) is the author's.
RUN_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def notebook_problems(notebook: dict) -> list[str]:
    """What a run left in `notebook` (parsed .ipynb JSON): one line per dirty cell."""
    problems = []
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        found = []
        if cell.get("outputs"):
            found.append(f"{len(cell['outputs'])} output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"execution count {cell['execution_count']}")
        found += [f"metadata {key!r}" for key in RUN_METADATA if key in cell.get("metadata", {})]
        if found:
            problems.append(f"cell {number}: {', '.join(found)}")
    return problems


def stripped(notebook: dict) -> dict:
    """A copy of `notebook` with no outputs, execution counts or run metadata."""
    clean = json.loads(json.dumps(notebook))
    for cell in clean.get("cells", []):
        metadata = cell.get("metadata", {})
        for key in RUN_METADATA:
            metadata.pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    clean.get("metadata", {}).pop("widgets", None)
    return clean


def notebook_text(notebook: dict) -> str:
    """The .ipynb text nbformat itself writes (so a rewrite diffs only where it changed)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def read_notebook(path: Path) -> dict:
    from kser.errors import KserError

    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise KserError(f"{path}: cannot read notebook ({error})") from None
    if not isinstance(notebook, dict) or "cells" not in notebook:
        raise KserError(f"{path}: not a Jupyter notebook (no 'cells')")
    return notebook


def strip_file(path: Path) -> bool:
    """Strip the notebook at `path` in place; True if it changed."""
    from kser.paths import atomic_write_text

    original = path.read_text(encoding="utf-8")
    text = notebook_text(stripped(read_notebook(path)))
    if text == original:
        return False
    atomic_write_text(path, text)
    return True


def main(argv=None) -> int:
    from kser.errors import KserError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if dirty")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    dirty = 0
    try:
        for path in paths:
            if args.check:
                problems = notebook_problems(read_notebook(path))
                for problem in problems:
                    print(f"{path}: {problem}")
                dirty += bool(problems)
            elif strip_file(path):
                print(f"stripped {path}")
    except KserError as error:
        print(f"strip_notebooks: error: {error}", file=sys.stderr)
        return 2
    if dirty:
        print(f"{dirty} notebook(s) carry outputs: run python tools/strip_notebooks.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
