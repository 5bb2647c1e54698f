"""Raw features of clips heard through channels, for any bundle or extractor.

The clips are decoded, corrupted whole (before the clip-length crop, as a
real channel would be), centre-cropped or padded like the feature cache does,
and passed to the bundle's own extractor (`Predictor._extract`). They never
touch the feature cache: its keys know nothing of channels, and corrupted
features must neither pollute it nor be read from it.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from kser.channels.spec import Channel, clip_seed
from kser.data.audio import fix_length, load_waveform

# Clips decoded and corrupted before each call to the extractor (memory stays ~50 MB at 3 s).
CHUNK_CLIPS = 256


def corrupted_features(
    predictor, corpus, rows, channel: Channel, *, seed: int = 0, progress: bool = True
):
    """Raw features of `corpus`'s `rows` through `channel`, as `predictor._extract` gives them
    (an array, or a dict per input for a multi-input bundle).

    Each clip's corruption is seeded by `clip_seed(path, seed)`, so reruns agree.
    """
    paths = corpus.manifest["path"].iloc[np.asarray(rows)].tolist()
    return features_through(
        paths,
        [channel] * len(paths),
        predictor._extract,
        sample_rate=predictor.sample_rate,
        n_samples=predictor.clip_samples,
        seed=seed,
        description=f"{channel.spec} features",
        progress=progress,
    )


def features_through(
    paths, channels, extract, *, sample_rate, n_samples, seed=0, description="", progress=True
):
    """`extract(waveforms)` of each clip of `paths` through its channel of `channels`,
    concatenated (arrays, or dicts of arrays), with a progress bar."""
    chunks = []
    bar = tqdm(total=len(paths), unit="clip", desc=description, disable=not progress)
    try:
        for start in range(0, len(paths), CHUNK_CLIPS):
            stop = start + CHUNK_CLIPS
            waveforms = [
                corrupted_clip(path, channel, sample_rate, n_samples, seed)
                for path, channel in zip(paths[start:stop], channels[start:stop], strict=True)
            ]
            chunks.append(extract(np.stack(waveforms)))
            bar.update(len(waveforms))
    finally:
        bar.close()
    if isinstance(chunks[0], dict):
        return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]}
    return np.concatenate(chunks)


def corrupted_clip(path, channel: Channel, sample_rate: int, n_samples: int, seed: int = 0):
    """The clip at `path` through `channel`, centre-cropped or padded to `n_samples`."""
    waveform = load_waveform(path, sample_rate)
    corrupted = channel.apply(waveform, sample_rate, clip_seed(path, seed))
    return fix_length(corrupted, n_samples, mode="center")
