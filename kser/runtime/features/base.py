"""What a numpy extractor is built from: a node of the description `kser export` records.

At export, `kser.export.numpy_front_end` walks a TensorFlow extractor and
writes, for it and each extractor it holds, a node: its name, its full
parameters, the nodes it holds (by role: `"mel"`, `"chroma"`, `"extractors"`,
...) and the keys of its constant arrays (mel filters, CQT kernels, ...) in
`features.<input>.npz`. The numpy extractors read only these, so the runtime
needs neither TensorFlow nor librosa, and never a default of its own.
"""

from __future__ import annotations

import numpy as np

from kser.errors import KserBundleError


class Node:
    """One extractor of the description, with access to the arrays file."""

    def __init__(self, description: dict, arrays, source: str):
        self.description = description
        self.arrays = arrays
        self.source = source

    @property
    def name(self) -> str:
        return self.description["name"]

    @property
    def params(self) -> dict:
        return self.description["params"]

    def child(self, role: str) -> Node:
        return Node(self._entry("parts", role), self.arrays, self.source)

    def children(self, role: str) -> list[Node]:
        return [Node(part, self.arrays, self.source) for part in self._entry("parts", role)]

    def array(self, role: str) -> np.ndarray:
        key = self._entry("arrays", role)
        if key not in self.arrays:
            raise KserBundleError(f"{self.source}: array {key!r} of feature {self.name!r} missing")
        return np.asarray(self.arrays[key])

    def _entry(self, kind: str, role: str):
        try:
            return self.description[kind][role]
        except (KeyError, TypeError):
            raise KserBundleError(
                f"{self.source}: feature {self.name!r} lacks its {role!r} ({kind})"
            ) from None


class NumpyExtractor:
    """Base class: `extractor(waves)` maps `(batch, n_samples)` waveforms to float32
    `(batch, n_bins, n_frames)` features, as the TensorFlow extractor of the same
    name and parameters does. Subclasses set `name` and implement `compute`."""

    name = ""

    def __init__(self, node: Node):
        self.params = node.params
        self.sample_rate = int(self.params["sample_rate"])
        self.hop_length = int(self.params["hop_length"])

    def __call__(self, waves) -> np.ndarray:
        return np.asarray(self.compute(np.asarray(waves, dtype=np.float32)), dtype=np.float32)

    def compute(self, waves: np.ndarray) -> np.ndarray:
        raise NotImplementedError
