"""kser's version: the installed distribution's, else pyproject.toml's (a source checkout)."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _version() -> str:
    # A source checkout on PYTHONPATH may be newer than the installed copy: its pyproject wins.
    if _PYPROJECT.is_file():
        found = re.search(r'^version\s*=\s*"([^"]+)"', _PYPROJECT.read_text(encoding="utf-8"), re.M)
        if found:
            return found.group(1)
    try:
        return version("kser")
    except PackageNotFoundError:
        return "unknown"


__version__ = _version()
