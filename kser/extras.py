"""Which of kser's optional extras installs a module, so that a command missing one says so.

kser's base installs no TensorFlow (`pip install 'kser[runtime]'` serves
exported models without it); the commands that train, extract features with
TensorFlow, explain or export need `kser[train]` and the extras below.
"""

from __future__ import annotations

# Top-level module -> the extra (pyproject.toml) that installs it.
EXTRA_OF_MODULE = {
    "tensorflow": "train",
    "keras": "train",
    "librosa": "train",
    "datasets": "train",
    "mlflow": "train",
    "matplotlib": "train",
    "keras_tuner": "train",
    "torch": "torch",
    "tf2onnx": "export",
    "onnx": "export",
    "onnxslim": "export",
    "tf_keras_vis": "xai",
    "lime": "xai",
    "onnxruntime": "runtime",
}


def missing_extra(error: ModuleNotFoundError) -> str | None:
    """One line naming the missing module and the extra to install, or None when no
    extra of kser provides it (then the error is a bug, not a missing install)."""
    module = (error.name or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    what = "TensorFlow and Keras" if extra == "train" else repr(module)
    return (
        f"this command needs {what}, not installed here (no module {module!r}); "
        f"install kser's {extra!r} extra: pip install 'kser[{extra}]'"
    )
