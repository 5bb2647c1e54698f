"""The test suite writes caches and MLflow runs only under pytest's temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kser.paths import cache_root


@pytest.fixture(scope="module")
def module_scoped_locations():
    """What a module-scoped fixture (set up before any per-test fixture) writes to."""
    return cache_root(), os.environ.get("MLFLOW_TRACKING_URI", "")


def test_module_scoped_fixtures_write_under_the_session_temporary_folder(
    module_scoped_locations, tmp_path_factory
):
    cache, tracking_uri = module_scoped_locations
    base = tmp_path_factory.getbasetemp()
    assert cache.is_relative_to(base)
    assert tracking_uri.startswith("sqlite:///")
    assert Path(tracking_uri.removeprefix("sqlite:///")).is_relative_to(base)


def test_each_test_gets_its_own_cache(module_scoped_locations, tmp_path_factory):
    assert cache_root().is_relative_to(tmp_path_factory.getbasetemp())
    assert cache_root() != module_scoped_locations[0]
