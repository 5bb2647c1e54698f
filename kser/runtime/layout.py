"""What an exported kser directory holds (shared by `kser.export` and `kser.runtime`).

    export/
        export.json            the marker: format, labels, sample rate, clip length,
                               each input's feature (and where it is computed),
                               normalization specs, speaker adaptation, kser version,
                               quantization, graph optimisation
        model.onnx             features -> probabilities (+ embeddings for adaptation)
        features.<input>.onnx  waveform -> that input's raw features, where the
                               feature's ops fit in ONNX
        features.<input>.npz   otherwise, the description and constants of the
                               feature's numpy version (`kser.runtime.features`)
        normalizer.json        normalization statistics (normalizer.<input>.json
                               per input of a multi-input model)
        split.json             the training split's file lists, when the bundle had them

The same description is written into model.onnx's `metadata_props`, so the
graph alone says what it expects.
"""

EXPORT_FORMAT = "kser-onnx/1"
EXPORT_FILE = "export.json"
MODEL_FILE = "model.onnx"
NORMALIZER_FILE = "normalizer.json"
SPLIT_FILE = "split.json"
PROBABILITIES_OUTPUT = "probabilities"
EMBEDDING_OUTPUT = "embedding"
WAVEFORM_INPUT = "waveform"
# Where an input's features are computed.
FRONT_END_ONNX = "onnx"
FRONT_END_NUMPY = "numpy"
FRONT_END_TENSORFLOW = "tensorflow"


def front_end_file(input_name: str) -> str:
    return f"features.{input_name}.onnx"


def numpy_front_end_file(input_name: str) -> str:
    return f"features.{input_name}.npz"


def normalizer_file(input_name: str | None) -> str:
    return NORMALIZER_FILE if input_name is None else f"normalizer.{input_name}.json"
