"""Seeded data augmentation for training pipelines, per feature family and on waveforms.

    augmentation = kser.augment.build_augmentation("mel", "default", seed=7)
    train = kser.augment.apply_augmentation(train, augmentation, training=True)

See `kser.augment.factory` for the chains, the seeding scheme and the
training-only guarantee.
"""

from kser.augment.factory import (
    DEFAULT_CHAINS,
    FEATURE_FAMILIES,
    Augmentation,
    AugmentationStep,
    apply_augmentation,
    augmentation_names,
    build_augmentation,
    build_waveform_augmentation,
)

__all__ = [
    "DEFAULT_CHAINS",
    "FEATURE_FAMILIES",
    "Augmentation",
    "AugmentationStep",
    "apply_augmentation",
    "augmentation_names",
    "build_augmentation",
    "build_waveform_augmentation",
]
