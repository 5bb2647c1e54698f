"""Trained-model bundles, now `kser.inference.bundle`: these names stay importable from here."""

from kser.inference.bundle import (  # noqa: F401  (the names older imports use)
    BUNDLE_FILE,
    BUNDLE_FORMAT,
    MODEL_FILE,
    NORMALIZER_FILE,
    READ_FORMATS,
    SPLIT_FILE,
    WINDOW_HOP_SECONDS,
    Bundle,
    FilePrediction,
    Predictor,
    WindowPrediction,
    _kser_version,
    _replace_directory,
    audio_files,
    find_bundle_directory,
    load_bundle,
    normalizer_file,
    save_bundle,
)
