"""`ChannelCopies`: a feature set of clean clips followed by one channel-corrupted copy each."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kser.features.pipeline import FeatureSet


class ChannelCopies(FeatureSet):
    """`clean`'s clips (rows 0..n-1), then corrupted copies of its rows `copied_rows`
    (row n + i is the copy of `copied_rows[i]`).

    The copies' manifest rows are the clean ones with the speaker renamed
    "<speaker>|<channel kind>", so every path that groups clips by speaker
    (normalization, speaker subsets) keeps one voice through one channel together.
    """

    def __init__(self, clean: FeatureSet, copied_rows, copies: np.ndarray, kinds):
        if copies.shape != (len(copied_rows), *clean.shape):
            raise ValueError(
                f"copies must be {(len(copied_rows), *clean.shape)}: one per copied row. "
                f"Received: {copies.shape}"
            )
        copied = clean.manifest.iloc[copied_rows].copy()
        speakers = clean.speakers[copied_rows]
        copied["speaker"] = [f"{s}|{k}" for s, k in zip(speakers, kinds, strict=True)]
        manifest = pd.concat([clean.manifest, copied], ignore_index=True)
        meta = {**clean.meta, "n_clips": len(manifest)}
        super().__init__(clean.directory, meta, manifest)
        self._features = np.concatenate([clean.as_numpy(), copies])
