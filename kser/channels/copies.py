"""`ChannelCopies`: a feature set of clean clips followed by one channel-corrupted copy each."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kser.features.pipeline import FeatureSet


class ChannelCopies(FeatureSet):
    """`clean`'s clips (rows 0..n-1), then their corrupted copies (rows n..2n-1).

    The copies' manifest rows are the clean ones with the speaker renamed
    "<speaker>|<channel kind>", so every path that groups clips by speaker
    (normalization, speaker subsets) keeps one voice through one channel together.
    """

    def __init__(self, clean: FeatureSet, copies: np.ndarray, kinds):
        if copies.shape != (len(clean), *clean.shape):
            raise ValueError(
                f"copies must match the clean features' shape {(len(clean), *clean.shape)}. "
                f"Received: {copies.shape}"
            )
        copied = clean.manifest.copy()
        copied["speaker"] = [f"{s}|{k}" for s, k in zip(clean.speakers, kinds, strict=True)]
        manifest = pd.concat([clean.manifest, copied], ignore_index=True)
        super().__init__(clean.directory, {**clean.meta, "n_clips": 2 * len(clean)}, manifest)
        self._features = np.concatenate([clean.as_numpy(), copies])
