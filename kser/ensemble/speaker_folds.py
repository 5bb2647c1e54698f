"""Speaker-grouped folds for training ensemble members out of fold.

Each fold holds out whole speakers. A member trained on a fold never sees its
held-out speakers, so its predictions on them are out of fold: the only
predictions the ensemble's weights are allowed to be tuned on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from kser.errors import KserDataError

DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class MemberFold:
    """Manifest rows of one fold; no speaker is in two of the three parts.

    `train` fits the member, `val` (one speaker) selects its checkpoint, and
    `holdout` is what it predicts out of fold.
    """

    name: str
    train: np.ndarray
    val: np.ndarray
    holdout: np.ndarray

    @property
    def trained_on(self) -> np.ndarray:
        """Every row that shaped the member: training rows and checkpoint-selection rows."""
        return np.union1d(self.train, self.val)


def member_folds(corpus, development, *, n_folds: int = DEFAULT_FOLDS, seed: int = 42):
    """`n_folds` speaker-grouped folds over the `development` rows of `corpus`.

    Folds are stratified by emotion (`StratifiedGroupKFold`, seeded); every
    development speaker is held out by exactly one fold. Within a fold, one
    of the remaining speakers (drawn with `seed`) is the validation speaker.
    """
    development = np.sort(np.asarray(development, dtype=np.int64))
    speakers = corpus.manifest["speaker"].astype(str).to_numpy()[development]
    labels = np.asarray(corpus.label_indices)[development]
    n_speakers = len(np.unique(speakers))
    # The largest held-out group still has to leave a training and a validation speaker.
    largest_holdout = -(-n_speakers // n_folds)
    if n_folds < 2 or n_speakers < n_folds or n_speakers - largest_holdout < 2:
        raise KserDataError(
            f"speaker-grouped folds need at least 2 folds and, per fold, a training and a "
            f"validation speaker besides the held-out ones. Received: n_folds={n_folds} over "
            f"{n_speakers} development speakers"
        )
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    rng = np.random.default_rng(seed)
    folds = []
    for number, (rest, holdout) in enumerate(splitter.split(development, labels, speakers)):
        remaining = np.unique(speakers[rest])
        val_speaker = remaining[rng.integers(len(remaining))]
        is_val = speakers[rest] == val_speaker
        folds.append(
            MemberFold(
                name=f"fold-{number}",
                train=development[rest[~is_val]],
                val=development[rest[is_val]],
                holdout=development[holdout],
            )
        )
    return folds
