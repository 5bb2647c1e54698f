"""numpy (+ scipy) versions of the features whose ops do not fit in ONNX.

Imports no TensorFlow, Keras or librosa: the constants the TensorFlow
extractors build with librosa (mel filters, CQT kernels, ...) come from the
export's `features.<input>.npz` (see `kser.runtime.features.base`). Covered:
`functionals` (kser's default) and `mfcc_functionals`, their parts (`stack`,
`mel`, `contrast`, `chroma`, `delta_mfcc`, `zcr`, `rms`, `tonnetz`,
`prosody`, `pitch`), and `mfcc`, `stft`, `cqt`. Not covered: `hpss`,
`tempogram`, `delta_tempogram`.
"""

from kser.lazy import lazy_attributes

# The `kser.features.FEATURE_CODE_VERSION` whose values these compute.
NUMPY_FEATURE_CODE_VERSION = "1"

_EXPORTS = {
    "EXTRACTORS": "registry",
    "Node": "base",
    "build": "registry",
    "load_numpy_extractor": "loading",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_attributes(__name__, _EXPORTS)
