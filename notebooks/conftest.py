"""Notebooks as tests (`pytest --nbmake`): each one runs headless, at smoke size, on the real
nEMO copy; a failing cell fails the test.

nbmake has no parameter injection, so the notebooks' parameters cells read the environment
the kernel inherits from this process: `KSER_SMOKE=1`, `KSER_DATA` (made absolute: the kernel
runs in notebooks/), `KSER_NOTEBOOK_RUNS` (a fresh folder per notebook), `KSER_CACHE` (one
folder for the session, so no notebook reads features cached outside it) and `PYTHONPATH`
(the repository root first, for `experiments`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent
REPO_ROOT = NOTEBOOK_DIR.parent
_session_cache: list[str] = []


def nemo_location() -> Path | None:
    """The real nEMO copy ($KSER_DATA, else ../shared/nemo), or None when absent."""
    location = Path(os.environ.get("KSER_DATA") or REPO_ROOT.parent / "shared" / "nemo")
    return location.resolve() if (location / "data.tsv").is_file() else None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.suffix != ".ipynb" or item.path.parent != NOTEBOOK_DIR:
            continue
        item.add_marker(pytest.mark.real)
        if nemo_location() is None:
            item.add_marker(pytest.mark.skip(reason="real nEMO data not found (set KSER_DATA)"))


def pytest_runtest_setup(item):
    if not _session_cache:
        _session_cache.append(tempfile.mkdtemp(prefix="kser-notebook-cache-"))
    item.saved_environment = dict(os.environ)
    os.environ.update(
        KSER_SMOKE="1",
        KSER_DATA=str(nemo_location()),
        KSER_CACHE=_session_cache[0],
        KSER_NOTEBOOK_RUNS=tempfile.mkdtemp(prefix=f"kser-{item.path.stem}-"),
        # A kernel that crashes (segfault, abort) prints its Python stack into the report.
        PYTHONFAULTHANDLER="1",
        # The kernel runs in notebooks/; `experiments` (not installed) lives in the clone's root.
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )


def pytest_runtest_teardown(item):
    saved = getattr(item, "saved_environment", None)
    if saved is None:
        return
    shutil.rmtree(os.environ["KSER_NOTEBOOK_RUNS"], ignore_errors=True)
    os.environ.clear()
    os.environ.update(saved)


def pytest_sessionfinish(session):
    for folder in _session_cache:
        shutil.rmtree(folder, ignore_errors=True)
