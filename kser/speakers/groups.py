"""Random groups of each speaker's clips: how many clips of a voice are known at once.

Per-speaker normalization and speaker adaptation use every clip of a speaker
passed together. An application rarely has hundreds: `speaker_groups` splits
each speaker's clips into seeded random groups of `size`, so a model can be
scored as it would be with 1, 5 or 20 clips of each new voice.
"""

from __future__ import annotations

import numpy as np

from kser.errors import KserEvaluationError


def speaker_groups(speakers, size: int | None, seed: int = 0) -> np.ndarray:
    """A group id per clip: each speaker's clips in random groups of `size` (None: one
    group per speaker). A speaker's last group holds the remainder (fewer clips)."""
    speakers = np.asarray(speakers).astype(str)
    if size is None:
        return speakers
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise KserEvaluationError(
            f"clips per speaker must be a positive integer. Received: {size!r}"
        )
    groups = np.empty(len(speakers), dtype=object)
    rng = np.random.default_rng(seed)
    for speaker in sorted(set(speakers)):
        rows = rng.permutation(np.flatnonzero(speakers == speaker))
        for number, start in enumerate(range(0, len(rows), size)):
            groups[rows[start : start + size]] = f"{speaker}#{number}"
    return groups.astype(str)
