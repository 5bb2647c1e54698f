"""The 13 acoustic representations, as batched TensorFlow extractors.

Every extractor is TensorFlow ops only (no librosa inside `tf.numpy_function`);
librosa and soxr only build constant filter banks when an extractor is made.
Each matches librosa within a stated bound (tests/features/test_parity.py).

    extractor = kser.features.get("mel", n_mels=64)
    images = extractor(waves)  # (batch, n_samples) -> (batch, n_bins, n_frames)
"""

from kser.features.base import FEATURE_CODE_VERSION, FeatureExtractor
from kser.features.registry import get, names

__all__ = ["FEATURE_CODE_VERSION", "FeatureExtractor", "get", "names"]

# Extraction, cache and normalization (kser.features.pipeline, .cache, .normalization).
from kser.features.cache import clear_cache, list_cache  # noqa: E402
from kser.features.normalization import NORMALIZATIONS, Normalizer  # noqa: E402
from kser.features.pipeline import FeatureSet, extract_features  # noqa: E402

__all__ += [
    "NORMALIZATIONS",
    "FeatureSet",
    "Normalizer",
    "clear_cache",
    "extract_features",
    "list_cache",
]
