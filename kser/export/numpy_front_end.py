"""The numpy front end of a feature outside ONNX: `features.<input>.npz` for `kser.runtime`.

`describe` walks a TensorFlow extractor and the extractors it holds, and
records what `kser.runtime.features` needs to compute the same values with
numpy and scipy: each extractor's name and full parameters, and the constant
arrays the TensorFlow code builds with librosa or soxr (mel filters, contrast
bands, CQT kernels and octave plan, soxr's decimation taps, chroma folding,
tonnetz projection). `FrontEndError` names a feature numpy does not cover.
"""

from __future__ import annotations

import io
import json

import numpy as np

from kser.export.frontend import FrontEndError
from kser.features.base import FeatureExtractor
from kser.features.constant_q import Chroma, Tonnetz
from kser.features.contrast import SpectralContrast
from kser.features.decimation import soxr_lowpass
from kser.features.spectral import MelSpectrogram
from kser.features.stacked import StackedFeatures
from kser.paths import atomic_write_bytes
from kser.runtime.features.loading import DESCRIPTION_KEY
from kser.runtime.features.registry import EXTRACTORS

# Attributes through which an extractor holds the extractors it is computed from.
_PART_ROLES = ("frames", "energy", "prosody", "pitch", "mel", "base", "chroma")


def write_numpy_front_end(extractor, path) -> None:
    """Describe `extractor` into the npz file `path` (atomically)."""
    arrays: dict[str, np.ndarray] = {}
    description = describe(extractor, "", arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **{DESCRIPTION_KEY: np.array(json.dumps(description))}, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def describe(extractor, prefix: str, arrays: dict) -> dict:
    """The description node of `extractor`; its arrays go into `arrays` under `prefix` keys."""
    if extractor.name not in EXTRACTORS:
        raise FrontEndError(f"feature {extractor.name!r} has no numpy implementation")
    node = {"name": extractor.name, "params": extractor.params, "parts": {}, "arrays": {}}

    def add(role, value):
        arrays[prefix + role] = np.asarray(value)
        node["arrays"][role] = prefix + role

    for role in _PART_ROLES:
        held = getattr(extractor, role, None)
        if isinstance(held, FeatureExtractor):
            node["parts"][role] = describe(held, f"{prefix}{role}.", arrays)
    if isinstance(extractor, StackedFeatures):
        node["parts"]["extractors"] = [
            describe(part, f"{prefix}extractors.{k}.", arrays)
            for k, part in enumerate(extractor.extractors)
        ]
    if isinstance(extractor, MelSpectrogram):
        add("filters", extractor.filters)
    if isinstance(extractor, SpectralContrast):
        add("bands", np.array(extractor.bands, dtype=np.int64))
    if hasattr(extractor, "transform"):  # the constant-Q family
        node["parts"]["transform"] = _constant_q(extractor.transform, f"{prefix}transform.", arrays)
    if isinstance(extractor, Chroma):
        add("folding", extractor.folding)
    if isinstance(extractor, Tonnetz):
        add("projection", extractor.projection)
    return node


def _constant_q(transform, prefix: str, arrays: dict) -> dict:
    """The node of a `kser.features.constant_q.ConstantQ`: octave plan, kernels, decimation."""
    node = {"name": "constant_q", "arrays": {}}
    steps = transform.decimator.steps
    node["params"] = {"first_step_level": steps[0][1] if steps else 1}
    entries = {
        "octave_plan": np.array([octave[:3] for octave in transform.octaves], dtype=np.int64),
        **{f"kernel{k}": np.asarray(octave[3]) for k, octave in enumerate(transform.octaves)},
    }
    factors = sorted({2 ** (high - low) for low, high in steps})
    entries["decimation_factors"] = np.array(factors, dtype=np.int64)
    entries.update({f"taps{factor}": soxr_lowpass(factor) for factor in factors})
    for role, value in entries.items():
        arrays[prefix + role] = value
        node["arrays"][role] = prefix + role
    return node
