"""From a manifest to batches: decode -> fix length -> feature -> cache -> normalize -> batch.

    feature_set = extract_features(corpus.manifest, kser.features.get("mel"))
    normalizer = feature_set.fit_normalizer("speaker+global", split.train)
    train = feature_set.dataset(split.train, corpus.label_indices, shuffle=True,
                                normalizer=normalizer)
    train = kser.augment.apply_augmentation(train, augmentation, training=True)

Extraction runs once per cache key (see `kser.features.cache`); later calls
check the shards and read them. Stored features are raw: normalization is
applied when batches are built, so one cache serves every normalization spec.
"""

from __future__ import annotations

import json

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from kser.data.audio import CLIP_SECONDS, clip_samples, load_clip
from kser.errors import KserDataError, KserFeatureError
from kser.features import cache
from kser.features.normalization import Normalizer


def extract_features(
    manifest,
    extractor,
    *,
    clip_seconds: float = CLIP_SECONDS,
    cache_root=None,
    batch_size: int = 32,
    shard_size: int = cache.SHARD_SIZE,
    progress: bool = True,
) -> FeatureSet:
    """Features of every clip in `manifest` (a DataFrame with a `path` column), cached.

    Clips are decoded in parallel, centre-cropped or zero-padded to
    `clip_seconds`, and passed to `extractor` in batches of `batch_size`.
    Shards already on disk and intact are kept; missing, truncated or corrupt
    ones are (re)built. A file that cannot be decoded raises `KserDataError`
    naming it: no clip is ever skipped silently.
    """
    paths = [str(path) for path in manifest["path"]]
    if not paths:
        raise KserDataError("manifest has no clips to extract features from")
    if shard_size <= 0 or batch_size <= 0:
        raise KserFeatureError(
            "shard_size and batch_size must be positive. "
            f"Received: shard_size={shard_size!r}, batch_size={batch_size!r}"
        )
    inputs = cache.key_inputs(paths, extractor, clip_seconds)
    key = cache.cache_key(inputs)
    n_samples = clip_samples(extractor.params["sample_rate"], clip_seconds)
    # Through JSON, so the comparison with the stored meta.json sees lists, not tuples.
    meta = json.loads(
        json.dumps(
            {
                "key": key,
                **inputs,
                "shape": [extractor.n_bins, extractor.n_frames(n_samples)],
                "dtype": "float32",
                "n_clips": len(paths),
                "shard_size": shard_size,
            }
        )
    )
    directory = cache.feature_directory(cache_root, extractor.name, key)
    with cache.locked(directory):
        cache.prepare_directory(directory, meta)
        to_build = cache.shards_to_build(directory, len(paths), shard_size)
        if to_build:
            cache.mark_incomplete(directory)
            rows = [
                row
                for number in to_build
                for row in range(number * shard_size, min((number + 1) * shard_size, len(paths)))
            ]
            _write_shards(
                directory, rows, paths, extractor, clip_seconds, meta, progress, batch_size
            )
        cache.mark_complete(directory, len(paths))
    return FeatureSet(directory, meta, manifest)


def _write_shards(directory, rows, paths, extractor, clip_seconds, meta, progress, batch_size):
    """Decode and extract `rows` (ascending, whole shards) and write their shards."""
    sample_rate = extractor.params["sample_rate"]
    n_samples = clip_samples(sample_rate, clip_seconds)
    decode_errors = []

    def decode(row):
        try:
            return load_clip(paths[int(row)], sample_rate, clip_seconds, mode="center")
        except KserDataError as error:
            decode_errors.append(error)
            raise

    def decode_row(row):
        wave = tf.numpy_function(decode, [row], tf.float32, stateful=False)
        return row, tf.ensure_shape(wave, [n_samples])

    dataset = (
        tf.data.Dataset.from_tensor_slices(np.asarray(rows, dtype=np.int64))
        .map(decode_row, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .batch(batch_size)
        .map(lambda row, waves: (row, extractor(waves)))
        .prefetch(tf.data.AUTOTUNE)
    )
    shard_size = meta["shard_size"]
    writer = None
    bar = tqdm(
        total=len(rows), unit="clip", desc=f"{meta['feature']} features", disable=not progress
    )
    try:
        for batch_rows, features in dataset.as_numpy_iterator():
            for row, feature in zip(batch_rows, features, strict=True):
                if writer is None or writer.number != row // shard_size:
                    if writer is not None:
                        writer.finish()
                    writer = cache.ShardWriter(directory, int(row // shard_size))
                writer.add(row, feature)
            bar.update(len(batch_rows))
        writer.finish()
        writer = None
    except tf.errors.OpError:
        if decode_errors:
            raise decode_errors[0] from None
        raise
    finally:
        bar.close()
        if writer is not None:
            writer.abort()


class FeatureSet:
    """The cached features of every clip of a manifest: row `i` is manifest row `i`.

    Attributes: `key`, `directory`, `feature`, `params`, `shape` (`(n_bins,
    n_frames)`), `paths`, `manifest` (labels and speakers come from here,
    never from the cache).
    """

    def __init__(self, directory, meta: dict, manifest):
        self.directory = directory
        self.meta = meta
        self.manifest = manifest
        self.key = meta["key"]
        self.feature = meta["feature"]
        self.params = meta["params"]
        self.shape = tuple(meta["shape"])
        self.paths = tuple(path for path, _, _ in meta["files"])
        self._features = None

    def __len__(self) -> int:
        return self.meta["n_clips"]

    def __repr__(self) -> str:
        return (
            f"FeatureSet({self.feature!r}, clips={len(self)}, shape={self.shape}, "
            f"key={self.key[:16]})"
        )

    @property
    def speakers(self) -> np.ndarray:
        return self.manifest["speaker"].astype(str).to_numpy()

    def as_numpy(self) -> np.ndarray:
        """All features, `(n_clips, n_bins, n_frames)` float32, read once and kept in memory."""
        if self._features is None:
            features = np.empty((len(self), *self.shape), dtype=np.float32)
            seen = np.zeros(len(self), dtype=bool)
            n_shards = -(-len(self) // self.meta["shard_size"])
            for number in range(n_shards):
                rows, values = cache.read_shard(self.directory, number, self.shape)
                features[rows] = values
                seen[rows] = True
            if not seen.all():
                raise KserFeatureError(
                    f"{self.directory}: cache lacks {int((~seen).sum())} clips; "
                    "run the extraction again to rebuild it"
                )
            self._features = features
        return self._features

    def fit_normalizer(
        self,
        spec: str,
        train_indices,
        prior_clips: float | None = None,
        voice_temperature: float | None = None,
    ):
        """A `Normalizer(spec)` whose global statistics (and speaker prior, with
        `prior_clips`, voice-matched with `voice_temperature`) come from
        `train_indices` only."""
        train_indices = self._checked_indices(train_indices)
        return Normalizer(spec).fit(
            self.as_numpy()[train_indices],
            self.speakers[train_indices],
            prior_clips=prior_clips,
            voice_temperature=voice_temperature,
        )

    def dataset(
        self,
        indices,
        labels,
        *,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int = 42,
        normalizer: Normalizer | None = None,
    ) -> tf.data.Dataset:
        """`(features, label)` batches of the clips at `indices` (manifest rows).

        `labels` has one class index per manifest row (e.g. `corpus.label_indices`).
        Normalization is applied once up front (speaker statistics come from the
        clips at `indices`). With `shuffle`, the order is reshuffled each epoch
        from `seed`. Augment training batches with `kser.augment.apply_augmentation`
        on the result (features sit below augmentation and do not import it).
        """
        indices = self._checked_indices(indices)
        labels = np.asarray(labels)
        if labels.shape != (len(self),):
            raise KserFeatureError(
                f"labels must hold one class index per manifest row ({len(self)}). "
                f"Received: labels with shape {labels.shape}"
            )
        features = self.as_numpy()[indices]
        if normalizer is not None:
            features = normalizer.transform(features, self.speakers[indices])
        features = tf.constant(features)
        targets = tf.constant(labels[indices].astype(np.int32))
        positions = tf.data.Dataset.range(len(indices))
        if shuffle:
            positions = positions.shuffle(len(indices), seed=seed, reshuffle_each_iteration=True)
        dataset = positions.batch(batch_size).map(
            lambda batch: (tf.gather(features, batch), tf.gather(targets, batch)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return dataset.prefetch(tf.data.AUTOTUNE)

    def _checked_indices(self, indices) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        if indices.ndim != 1 or indices.size == 0:
            raise KserFeatureError(
                "indices must be a non-empty 1-D array of manifest rows. "
                f"Received: shape={indices.shape}"
            )
        if indices.min() < 0 or indices.max() >= len(self):
            raise KserFeatureError(
                f"indices must lie in [0, {len(self)}). "
                f"Received: min={indices.min()}, max={indices.max()}"
            )
        return indices
