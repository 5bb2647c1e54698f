"""openSMILE functionals (eGeMAPS, ComParE): the classic SER anchors as kser features.

    kser.features.get("egemaps")  # (batch, 88, 1): eGeMAPSv02 functionals
    kser.features.get("compare")  # (batch, 6373, 1): ComParE_2016 functionals

Every speech-emotion paper compares against these two sets, so kser computes
them through the `opensmile` package (which ships the SMILExtract library)
rather than re-implementing them: the values are openSMILE's own. openSMILE
is not a TensorFlow op, so the call runs on the host inside
`tf.numpy_function`, one clip at a time, wherever the features are computed
(the cache's extraction, `Bundle.predict_*`), in a worker process
(`kser.features.opensmile_worker`: openSMILE's library and TensorFlow's do
not share a process). The feature set, level and the
installed openSMILE version are parameters, so they are in the cache key and
in every bundle: a bundle is refused by another openSMILE version rather than
fed values it was not trained on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import numpy as np
import tensorflow as tf

from kser.data.audio import SAMPLE_RATE
from kser.errors import KserFeatureError
from kser.features.base import HOP_LENGTH, FeatureExtractor
from kser.features.opensmile_worker import receive, send

INSTALL_HINT = "pip install 'kser[baselines]'"
FUNCTIONALS_LEVEL = "Functionals"


def _worker_environment() -> dict:
    """This environment, with kser's own directory first on the worker's import path."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}"}


def _stop(process: subprocess.Popen) -> None:
    """Close the worker's input (it then exits) and wait for it."""
    process.stdin.close()
    process.wait()


def import_opensmile():
    """The `opensmile` module, or a `KserFeatureError` saying how to install it."""
    try:
        import opensmile
    except ImportError:
        raise KserFeatureError(
            f"openSMILE features need the opensmile package: {INSTALL_HINT}"
        ) from None
    return opensmile


class OpenSmileFunctionals(FeatureExtractor):
    """One openSMILE feature set's functionals of each clip, as one column.

    Subclasses set `name`, `feature_set` (an `opensmile.FeatureSet` member
    name) and `n_values`.

    Args:
        feature_set, feature_level: the subclass's set and "Functionals" (the
            only accepted values; recorded so that they are in the cache key).
        opensmile_version: the openSMILE version the values come from; the
            installed one by default. A bundle records it, and rebuilding the
            extractor under another version raises `KserFeatureError`.
        sample_rate: the clips' rate in Hz (openSMILE reads it from the call).
        hop_length: kept for the shared parameters only; the output has one frame.

    Output: `(batch, n_values, 1)` float32, in openSMILE's column order
    (`value_names()`).
    """

    feature_set = ""
    n_values = 0

    def __init__(
        self,
        *,
        feature_set=None,
        feature_level=FUNCTIONALS_LEVEL,
        opensmile_version=None,
        sample_rate=SAMPLE_RATE,
        hop_length=HOP_LENGTH,
    ):
        # `feature_set` and `feature_level` are parameters only so that recorded params rebuild it.
        if feature_set not in (None, self.feature_set) or feature_level != FUNCTIONALS_LEVEL:
            raise KserFeatureError(
                f"{self.name} is openSMILE's {self.feature_set} at the {FUNCTIONALS_LEVEL} "
                f"level. Received: feature_set={feature_set!r}, feature_level={feature_level!r}"
            )
        opensmile = import_opensmile()
        if opensmile_version is not None and opensmile_version != opensmile.__version__:
            raise KserFeatureError(
                f"{self.name}: these features were computed with opensmile "
                f"{opensmile_version}, but {opensmile.__version__} is installed; install "
                f"opensmile=={opensmile_version} or retrain. "
                f"Received: opensmile_version={opensmile_version!r}"
            )
        self._smile = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, self.feature_set),
            feature_level=getattr(opensmile.FeatureLevel, FUNCTIONALS_LEVEL),
        )
        if len(self._smile.feature_names) != self.n_values:
            raise KserFeatureError(
                f"{self.name}: opensmile {opensmile.__version__} gives "
                f"{len(self._smile.feature_names)} {self.feature_set} values, expected "
                f"{self.n_values}"
            )
        self._lock = threading.Lock()
        self._process = None
        super().__init__(
            self.n_values,
            feature_set=self.feature_set,
            feature_level=FUNCTIONALS_LEVEL,
            opensmile_version=opensmile.__version__,
            sample_rate=sample_rate,
            hop_length=hop_length,
        )

    def n_frames(self, n_samples: int) -> int:
        return 1

    def compute(self, waves):
        values = tf.numpy_function(self.functionals, [waves], tf.float32, stateful=False)
        return tf.ensure_shape(values, [waves.shape[0], self.n_values])[..., tf.newaxis]

    def functionals(self, waves: np.ndarray) -> np.ndarray:
        """`(batch, n_samples)` numpy waveforms -> `(batch, n_values)` float32."""
        with self._lock:
            worker = self._worker()
            try:
                send(worker.stdin, waves)
                values = receive(worker.stdout)
            except OSError:
                values = None
            if values is None:
                self._process = None
                raise KserFeatureError(
                    f"{self.name}: the openSMILE worker process failed (exit status "
                    f"{worker.wait()}); see its messages above"
                )
        if values.shape != (len(waves), self.n_values):
            raise KserFeatureError(
                f"{self.name}: openSMILE returned shape {values.shape}, expected "
                f"{(len(waves), self.n_values)}"
            )
        return values

    def _worker(self) -> subprocess.Popen:
        """The running worker process (`kser.features.opensmile_worker`), started on first use."""
        if self._process is None or self._process.poll() is not None:
            command = [sys.executable, "-m", "kser.features.opensmile_worker"]
            command += [self.feature_set, FUNCTIONALS_LEVEL, str(self.sample_rate)]
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_worker_environment()
            )
            weakref.finalize(self, _stop, self._process)
        return self._process

    def value_names(self) -> list[str]:
        """openSMILE's name of every output value, in output order."""
        return list(self._smile.feature_names)


class Egemaps(OpenSmileFunctionals):
    """The 88 eGeMAPSv02 functionals (Eyben et al., 2016): pitch, loudness,
    spectral balance, formants, voice quality and their statistics."""

    name = "egemaps"
    feature_set = "eGeMAPSv02"
    n_values = 88


class Compare(OpenSmileFunctionals):
    """The 6,373 ComParE_2016 functionals (Schuller et al., 2016): the brute-force
    set of the Interspeech computational paralinguistics challenges."""

    name = "compare"
    feature_set = "ComParE_2016"
    n_values = 6373
