"""Training on channel-corrupted copies: `ExperimentConfig.channel_augmentation`.

    augmentation = parse_channel_augmentation("telephone,noise:5-20,reverb:0.2-0.8")
    feature_set, rows, labels = with_channel_copies(feature_set, rows, labels, extractor,
                                                    augmentation, seed=42)

Every training clip gets one corrupted copy: a channel drawn from the
choices (uniformly), its value uniformly from its range, both seeded by the
clip's name and the seed. A copy's speaker is its speaker and channel kind
("SM0|telephone"), so per-speaker statistics describe one voice through one
kind of channel, as a session recorded through that channel would give.

Copies are extracted once per training split, extractor, choices and seed
(about 4 min for one nEMO fold's 2,400 clips on 2 idle cores) and kept in
`<cache root>/channel-copies/`, apart from the clean feature cache; every
epoch then reads them like clean features, so training costs only the extra
clips (the training set doubles), not a feature extraction per epoch as
`waveform_augment` does.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass

import numpy as np

from kser.channels.spec import VALUE_RANGES, Channel, clip_seed, parse_value
from kser.errors import KserConfigError

COPIES_FOLDER = "channel-copies"
_RANGE = re.compile(r"^\s*(-?[0-9.]+)\s*(?:-\s*(-?[0-9.]+))?\s*$")


@dataclass(frozen=True)
class ChannelAugmentation:
    """Channel choices: `(kind, low, high)` each (low = high = None for telephone)."""

    choices: tuple[tuple[str, float | None, float | None], ...]

    @property
    def spec(self) -> str:
        return ",".join(
            kind if low is None else f"{kind}:{low:g}-{high:g}" for kind, low, high in self.choices
        )

    def channel_of(self, clip_id, seed: int) -> Channel:
        """The channel drawn for the clip `clip_id` (its path or name) under `seed`."""
        rng = np.random.default_rng(clip_seed(clip_id, seed))
        kind, low, high = self.choices[int(rng.integers(len(self.choices)))]
        value = None if low is None else float(rng.uniform(low, high))
        return Channel(((kind, value),))


def parse_channel_augmentation(spec: str) -> ChannelAugmentation:
    """`"telephone,noise:5-20,reverb:0.2-0.8"` -> its `ChannelAugmentation` (a single value,
    `noise:10`, is a range of one); a `KserConfigError` naming the bad part otherwise."""
    if not isinstance(spec, str) or not spec.strip():
        raise KserConfigError(f"channel augmentation is empty. Received: {spec!r}")
    return ChannelAugmentation(tuple(_choice(part.strip(), spec) for part in spec.split(",")))


def with_channel_copies(feature_set, rows, labels, extractor, augmentation, *, seed: int):
    """`(feature set, rows, labels)` with a corrupted copy of each clip at `rows` added.

    The returned feature set holds the clean clips, then one copy of each clip
    at `rows` (row `len(feature_set) + i` is the copy of `rows[i]`), with
    speakers named after their channel kind; `rows` and `labels` cover both.
    """
    from kser.channels.copies import ChannelCopies

    rows = np.asarray(rows, dtype=np.int64)
    copies, kinds = channel_copies(feature_set, rows, extractor, augmentation, seed=seed)
    augmented = ChannelCopies(feature_set, rows, copies, kinds)
    labels = np.asarray(labels)
    copied = np.arange(len(feature_set), len(feature_set) + len(rows))
    return augmented, np.concatenate([rows, copied]), np.concatenate([labels, labels[rows]])


def channel_copies(feature_set, rows, extractor, augmentation, *, seed: int):
    """`(features, channel kinds)` of one corrupted copy of each clip of `feature_set` at
    `rows`, read from the copies cache when there."""
    import keras

    from kser.channels.features import features_through
    from kser.paths import atomic_write_bytes, cache_root

    paths = feature_set.manifest["path"].astype(str).iloc[rows].tolist()
    channels = [augmentation.channel_of(path, seed) for path in paths]
    kinds = np.asarray([channel.stages[0][0] for channel in channels])
    identity = {
        "clean": feature_set.key,
        "rows": np.asarray(rows).tolist(),
        "augmentation": augmentation.spec,
        "seed": seed,
    }
    key = hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()
    path = cache_root() / COPIES_FOLDER / f"{key[:32]}.npy"
    if path.is_file():
        return np.load(path), kinds

    def extract(waveforms):
        return np.concatenate(
            [
                keras.ops.convert_to_numpy(extractor(waveforms[start : start + 32]))
                for start in range(0, len(waveforms), 32)
            ]
        )

    sample_rate = extractor.params["sample_rate"]
    copies = features_through(
        paths,
        channels,
        extract,
        sample_rate=sample_rate,
        n_samples=_clip_samples(feature_set, sample_rate),
        seed=seed,
        description=f"channel copies ({augmentation.spec})",
    ).astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, copies)
    atomic_write_bytes(path, buffer.getvalue())
    return copies, kinds


def _clip_samples(feature_set, sample_rate: int) -> int:
    from kser.data.audio import clip_samples

    return clip_samples(sample_rate, feature_set.meta["clip_seconds"])


def _choice(part: str, spec: str):
    kind, separator, text = part.partition(":")
    kind = kind.strip().lower()
    if kind == "telephone" and not separator:
        return kind, None, None
    if kind not in VALUE_RANGES or not separator:
        raise KserConfigError(
            f"channel augmentation {spec!r}: {part!r} is not telephone, noise:LOW-HIGH "
            "(SNR in dB) or reverb:LOW-HIGH (RT60 in seconds)"
        )
    matched = _RANGE.match(text)
    if matched is None:
        raise KserConfigError(
            f"channel augmentation {spec!r}: {part!r} needs a value or a range LOW-HIGH"
        )
    low = parse_value(kind, matched.group(1), spec)
    high = parse_value(kind, matched.group(2) or matched.group(1), spec)
    if high < low:
        raise KserConfigError(f"channel augmentation {spec!r}: {part!r} has LOW above HIGH")
    return kind, low, high
