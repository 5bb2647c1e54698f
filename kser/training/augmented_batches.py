"""Training batches with augmentation at the waveform level, the feature level, or both.

Feature-level augmentation (`ExperimentConfig.augment`) runs on cached
features. Waveform-level augmentation (`ExperimentConfig.waveform_augment`:
gain, noise, pitch shift, time stretch, reverb) must run before any feature
exists, so with it the training clips are decoded once and kept in memory
(3 s at 16 kHz: 192 kB a clip, about 400 MB for nEMO's training speakers),
and every epoch each batch goes

    waveforms -> waveform augmentation -> extractor -> normalization -> feature augmentation

Only training batches are built here. Validation and test batches always come
from the cached features of the clean clips (`FeatureSet.dataset`), so no
augmented clip is ever scored.

Augmented features are normalized with statistics fixed on the clean
training clips: each speaker's per-bin mean and std (for "speaker" specs) and
the normalizer's global statistics, exactly those `FeatureSet.dataset`
applies to the same clips. Without augmentation both paths give the same
batches; with it they differ by the augmentation alone.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kser.augment import apply_augmentation, build_augmentation, build_waveform_augmentation
from kser.augment.mixup import mix_batches
from kser.data.audio import clip_samples, load_clip
from kser.features.normalization import STD_FLOOR, Normalizer, per_speaker_statistics
from kser.speakers.statistics import SubsetStatistics


def training_batches(
    feature_set, rows, labels, extractor, normalizer, config, *, num_classes: int
) -> tf.data.Dataset:
    """Shuffled, augmented `(features, label)` batches of the training clips at `rows`.

    With `config.mixup` the batches are then blended (`kser.augment.mixup`) and
    carry soft label rows of `num_classes` instead of class indices.

    Args:
        feature_set: the cached features of the corpus (`kser.features.FeatureSet`).
        rows: manifest rows of the training split.
        labels: one class index per manifest row.
        extractor: the feature extractor `feature_set` was computed with.
        normalizer: fitted on the training split (`feature_set.fit_normalizer`).
        config: an `ExperimentConfig` (batch size, seed, clip length, `augment`,
            `waveform_augment`, `mixup`).
        num_classes: the corpus's number of labels.
    """
    if config.channel_augmentation:
        from kser.channels.augmentation import parse_channel_augmentation, with_channel_copies

        augmentation = parse_channel_augmentation(config.channel_augmentation)
        feature_set, rows, labels = with_channel_copies(
            feature_set, rows, labels, extractor, augmentation, seed=config.seed
        )
    if config.waveform_augment == "none" and subsets_train(normalizer, config):
        batches = speaker_subset_batches(
            feature_set, rows, labels, normalizer, batch_size=config.batch_size, seed=config.seed
        )
    elif config.waveform_augment == "none":
        batches = feature_set.dataset(
            rows,
            labels,
            batch_size=config.batch_size,
            shuffle=True,
            seed=config.seed,
            normalizer=normalizer,
        )
    else:
        batches = augmented_waveform_batches(
            feature_set,
            rows,
            labels,
            extractor,
            normalizer,
            build_waveform_augmentation(
                config.waveform_augment,
                seed=config.seed,
                sample_rate=extractor.params["sample_rate"],
            ),
            clip_seconds=config.clip_seconds,
            batch_size=config.batch_size,
            seed=config.seed,
        )
    # Checked here rather than by the factory: "none" must work for inputs without a
    # feature family (the raw waveform, stacked representations).
    if config.augment != "none":
        augmentation = build_augmentation(config.feature, config.augment, seed=config.seed)
        batches = apply_augmentation(batches, augmentation, training=True)
    if config.mixup:
        batches = mix_batches(
            batches, alpha=config.mixup, num_classes=num_classes, seed=config.seed
        )
    return batches


def subsets_train(normalizer: Normalizer, config) -> bool:
    """Whether training clips get speaker statistics of random subsets of their speaker's
    clips (`config.speaker_subsets`, for a normalizer with a speaker prior)."""
    return bool(config.speaker_subsets) and normalizer.prior is not None


def speaker_subset_batches(
    feature_set, rows, labels, normalizer: Normalizer, *, batch_size: int, seed: int
) -> tf.data.Dataset:
    """Shuffled `(features, label)` batches of the clips at `rows`, each clip normalized
    with the shrunk statistics of a random subset of its speaker's clips at `rows`
    (`kser.speakers.statistics.SubsetStatistics`), drawn anew every epoch.

    Each epoch's draw and order come from one seed of
    `tf.data.Dataset.random(seed)`, so a run is repeatable.
    """
    rows = np.asarray(rows, dtype=np.int64)
    features = feature_set.as_numpy()[rows]
    targets = np.asarray(labels)[rows].astype(np.int32)
    subsets = SubsetStatistics(features, feature_set.speakers[rows], normalizer.prior)

    def epoch(draw):
        rng = np.random.default_rng(int(draw))
        mean, std = subsets.sample(rng)
        order = rng.permutation(len(rows))
        normalized = normalizer.transform_with_speaker_statistics(
            features[order], mean[order], std[order]
        )
        return normalized, targets[order]

    def batches(draw):
        normalized, ordered = tf.numpy_function(
            epoch, [draw], (tf.float32, tf.int32), stateful=False
        )
        normalized = tf.ensure_shape(normalized, [len(rows), *features.shape[1:]])
        ordered = tf.ensure_shape(ordered, [len(rows)])
        return tf.data.Dataset.from_tensor_slices((normalized, ordered)).batch(batch_size)

    n_batches = -(-len(rows) // batch_size)
    return (
        tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        .take(1)
        .flat_map(batches)
        .apply(tf.data.experimental.assert_cardinality(n_batches))
        .prefetch(tf.data.AUTOTUNE)
    )


def augmented_waveform_batches(
    feature_set,
    rows,
    labels,
    extractor,
    normalizer: Normalizer,
    augmentation,
    *,
    clip_seconds: float,
    batch_size: int,
    seed: int,
) -> tf.data.Dataset:
    """`(features, label)` batches of the clips at `rows`, augmented as waveforms each epoch.

    Clips are decoded as the feature cache decodes them (centre-cropped or
    padded to `clip_seconds`), shuffled from `seed` every epoch like
    `FeatureSet.dataset(..., shuffle=True)`, then augmented (`augmentation`, a
    `kser.augment.Augmentation` over `(batch, n_samples)` waveforms; None
    leaves them clean), turned into features by `extractor` and normalized
    with the clean training clips' statistics.
    """
    rows = np.asarray(rows, dtype=np.int64)
    sample_rate = extractor.params["sample_rate"]
    waves = tf.constant(_decode(feature_set.manifest["path"].iloc[rows], sample_rate, clip_seconds))
    targets = tf.constant(np.asarray(labels)[rows].astype(np.int32))
    normalize = _fixed_normalization(
        normalizer, feature_set.as_numpy()[rows], feature_set.speakers[rows]
    )
    batches = (
        tf.data.Dataset.range(len(rows))
        .shuffle(len(rows), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(lambda positions: (tf.gather(waves, positions), positions))
    )
    batches = apply_augmentation(batches, augmentation, training=True)
    return batches.map(
        lambda augmented, positions: (
            normalize(extractor(augmented), positions),
            tf.gather(targets, positions),
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    ).prefetch(tf.data.AUTOTUNE)


def _decode(paths, sample_rate: int, clip_seconds: float) -> np.ndarray:
    """`(n_clips, n_samples)` float32 waveforms, decoded in parallel, in order."""
    paths = [str(path) for path in paths]
    n_samples = clip_samples(sample_rate, clip_seconds)

    def decode(position):
        return load_clip(paths[int(position)], sample_rate, clip_seconds, mode="center")

    decoded = tf.data.Dataset.range(len(paths)).map(
        lambda position: tf.ensure_shape(
            tf.numpy_function(decode, [position], tf.float32, stateful=False), [n_samples]
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    return np.stack(list(decoded.as_numpy_iterator()))


def _fixed_normalization(normalizer: Normalizer, clean_features, speakers):
    """`normalize(features, positions)` in TensorFlow ops: `normalizer.transform` with the
    statistics it would use on `clean_features` (one row per position)."""
    if normalizer.first_stage == "speaker":
        mean, std = per_speaker_statistics(clean_features, speakers, normalizer.prior)
        speaker_mean, speaker_std = tf.constant(mean), tf.constant(std)

    def normalize(features, positions):
        if normalizer.first_stage == "clip":
            mean = tf.reduce_mean(features, axis=[1, 2], keepdims=True)
            std = tf.math.reduce_std(features, axis=[1, 2], keepdims=True)
            features = (features - mean) / tf.maximum(std, STD_FLOOR)
        elif normalizer.first_stage == "speaker":
            mean = tf.gather(speaker_mean, positions)[:, :, None]
            features = (features - mean) / tf.gather(speaker_std, positions)[:, :, None]
        if normalizer.uses_global:
            features = (features - normalizer.mean[:, None]) / normalizer.std[:, None]
        return features

    return normalize
