"""Fixtures of the training tests: a synthetic corpus, a saved bundle, a count of trained splits.

Plain helpers (synthetic features, a tiny model, `make_bundle`, configs) are in
tests/training/helpers.py.
"""

from __future__ import annotations

import pytest

from kser.data import load_corpus
from kser.training import run as run_module
from kser.training import save_bundle
from tests.helpers import make_nemo_directory
from tests.training.helpers import make_bundle


@pytest.fixture
def tiny_corpus(tmp_path):
    """The 7-speaker synthetic nEMO corpus (6 emotions x 2 clips x 0.3 s per speaker), loaded."""
    return load_corpus(make_nemo_directory(tmp_path / "nemo"), verbose=False)


@pytest.fixture
def saved_bundle(tmp_path):
    """A bundle saved to `tmp_path/bundle`; returns `(in-memory bundle, its directory)`."""
    bundle = make_bundle()
    return bundle, save_bundle(bundle, tmp_path / "bundle")


@pytest.fixture
def trained_splits(monkeypatch):
    """The names of the splits `run_split` trains, in order (a resumed run trains fewer)."""
    trained = []
    original = run_module.run_split

    def counting_run_split(*, split, **rest):
        trained.append(split.name)
        return original(split=split, **rest)

    monkeypatch.setattr(run_module, "run_split", counting_run_split)
    return trained
