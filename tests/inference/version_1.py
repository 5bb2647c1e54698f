"""Bundles in format version 1, as kser wrote them before format 2: built, not committed.

Version 1 named a single-input model's input nowhere: bundle.json had
`feature` (not `features` keyed by input name), one `normalization` spec and
the statistics in normalizer.json. Multi-input bundles were already keyed.
"""

from __future__ import annotations

import json
import os

from kser.inference.bundle import BUNDLE_FILE, NORMALIZER_FILE, normalizer_file, save_bundle


def save_version_1_bundle(bundle, directory):
    """Save `bundle` (single-input) as kser's version 1 code did; returns its directory."""
    directory = save_bundle(bundle, directory)
    info = json.loads((directory / BUNDLE_FILE).read_text(encoding="utf-8"))
    ((input_name, feature),) = info.pop("features").items()
    info["format"] = "kser-bundle/1"
    info["feature"] = feature
    info["normalization"] = info["normalization"][input_name]
    (directory / BUNDLE_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
    os.replace(directory / normalizer_file(input_name), directory / NORMALIZER_FILE)
    return directory
