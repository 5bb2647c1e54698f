"""The 13 acoustic representations, as batched TensorFlow extractors.

Every extractor is TensorFlow ops only (no librosa inside `tf.numpy_function`);
librosa and soxr only build constant filter banks when an extractor is made.
Each matches librosa within a stated bound (tests/features/test_parity.py).

    extractor = kser.features.get("mel", n_mels=64)
    images = extractor(waves)  # (batch, n_samples) -> (batch, n_bins, n_frames)

Names are imported on first use, so `kser.features.normalization` (numpy only)
loads without TensorFlow, as `kser.runtime` needs.
"""

from kser.lazy import lazy_attributes

# name -> the submodule that defines it.
_EXPORTS = {
    "FEATURE_CODE_VERSION": "base",
    "FeatureExtractor": "base",
    "get": "registry",
    "names": "registry",
    "clear_cache": "cache",
    "list_cache": "cache",
    "NORMALIZATIONS": "normalization",
    "Normalizer": "normalization",
    "FeatureSet": "pipeline",
    "extract_features": "pipeline",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_attributes(__name__, _EXPORTS)
