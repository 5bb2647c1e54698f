"""Fixtures shared by every test module: synthetic signals and corpora, the real nEMO copy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT, make_nemo_directory


@pytest.fixture
def synthetic_nemo(tmp_path):
    """A 7-speaker, 6-emotion nEMO-layout corpus of short 24 kHz tones."""
    return make_nemo_directory(tmp_path / "nemo")


@pytest.fixture(scope="session")
def nemo_dir():
    """The real nEMO copy ($KSER_DATA, else ../shared/nemo); skips when absent."""
    location = Path(os.environ.get("KSER_DATA") or REPO_ROOT.parent / "shared" / "nemo")
    if not (location / "data.tsv").is_file():
        pytest.skip(f"real nEMO data not found at {location} (set KSER_DATA)")
    return location


@pytest.fixture(scope="session", autouse=True)
def _isolated_session_cache(tmp_path_factory):
    """Module- and session-scoped fixtures run before any per-test fixture: they write
    caches and MLflow runs into a temporary folder of the session, never the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KSER_CACHE", str(tmp_path_factory.mktemp("session_cache")))
        store = tmp_path_factory.mktemp("session_mlflow") / "mlruns.db"
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
        yield


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes caches into its own temporary folder."""
    monkeypatch.setenv("KSER_CACHE", str(tmp_path_factory.mktemp("kser_cache")))
