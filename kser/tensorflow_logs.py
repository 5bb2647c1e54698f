"""Silence TensorFlow's own log lines (the `kser` command does, unless `--verbose`).

TensorFlow prints CUDA probing, oneDNN and CPU-feature notes, and error-level
lines such as a failed `cuInit` on a machine without a GPU: nothing a kser
user can act on. Most obey `TF_CPP_MIN_LOG_LEVEL`, but the ones its shared
libraries print while `import tensorflow` loads them come before absl logging
is set up and obey nothing; for those, file descriptor 2 points at /dev/null
while TensorFlow is imported, whenever and wherever that happens first.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import sys


def silence_tensorflow() -> None:
    """Quiet TensorFlow from here on; call before it is imported. Keeps a level the user set."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules and not any(
        isinstance(finder, _QuietImportFinder) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietImportFinder())


@contextlib.contextmanager
def _stderr_to_devnull():
    """Point file descriptor 2 (what C++ writes to) at /dev/null for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietImportFinder(importlib.abc.MetaPathFinder):
    """Finds the top-level `tensorflow` package as usual, and loads it quietly."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # one import is all it is for
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):  # e.g. get_resource_reader: the real loader's
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with _stderr_to_devnull():
            self.loader.exec_module(module)
