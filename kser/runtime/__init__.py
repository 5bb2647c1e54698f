"""Serving exported kser models with onnxruntime and numpy: no TensorFlow, no Keras.

    from kser.runtime import load_exported
    bundle = load_exported("exported/")
    for prediction in bundle.predict_files(["clip.wav"]):
        print(prediction.emotion, prediction.probabilities)

An exported directory (`kser export`, see `kser.runtime.layout`) offers what a
trained bundle does: `predict_files`, `predict_waveforms`, `predict_features`,
`evaluate`, `split_rows`, `labels`. Features whose front end is in ONNX are
computed by onnxruntime, most others by numpy and scipy
(`kser.runtime.features`); the rest need TensorFlow (`kser.features`), which
is imported only then.
"""

from kser.lazy import lazy_attributes

# name -> the submodule that defines it.
_EXPORTS = {
    "ExportedBundle": "exported",
    "is_exported": "exported",
    "load_exported": "exported",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_attributes(__name__, _EXPORTS)
