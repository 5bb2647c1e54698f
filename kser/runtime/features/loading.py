"""Reading a numpy front end: `features.<input>.npz`, the description and the arrays."""

from __future__ import annotations

import json
import zipfile

import numpy as np

from kser.errors import KserBundleError
from kser.runtime.features.base import Node, NumpyExtractor
from kser.runtime.features.registry import build

# The npz entry holding the description tree as a JSON string.
DESCRIPTION_KEY = "description"


def load_numpy_extractor(path) -> NumpyExtractor:
    """The numpy extractor described by the npz file at `path`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        description = json.loads(str(arrays.pop(DESCRIPTION_KEY)))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise KserBundleError(
            f"{path}: not a readable numpy front end, corrupted or truncated ({error})"
        ) from None
    return build(Node(description, arrays, str(path)))
