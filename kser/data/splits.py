"""Named split protocols (docs/architecture.md): seed, speaker, loso, kfold.

Every split is deterministic given its seed and holds manifest row indices.
`write_split` saves the exact file lists next to a run's results.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, train_test_split

from kser.data.manifest import Corpus
from kser.paths import atomic_write_json

PROTOCOLS = ("seed", "speaker", "loso", "kfold")
DEFAULT_SEED = 42


@dataclass(frozen=True)
class Split:
    """Train/val/test row indices of one split (one fold for loso and kfold)."""

    name: str
    protocol: str
    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def parts(self):
        return {"train": self.train, "val": self.val, "test": self.test}


def make_splits(
    corpus: Corpus,
    protocol: str = "speaker",
    seed: int = DEFAULT_SEED,
    *,
    n_folds: int = 5,
    grouped: bool = True,
) -> list[Split]:
    """The splits of `protocol`: one for seed/speaker, one per fold for loso/kfold."""
    if protocol == "seed":
        return [stratified_random_split(corpus, seed)]
    if protocol == "speaker":
        return [speaker_independent_split(corpus, seed)]
    if protocol == "loso":
        return leave_one_speaker_out_splits(corpus, seed)
    if protocol == "kfold":
        return kfold_splits(corpus, seed, n_folds=n_folds, grouped=grouped)
    raise ValueError(
        f"protocol must be one of {', '.join(PROTOCOLS)}. Received: protocol={protocol!r}"
    )


def stratified_random_split(corpus: Corpus, seed: int = DEFAULT_SEED) -> Split:
    """64/16/20 train/val/test, stratified by emotion (speaker-dependent)."""
    indices = np.arange(len(corpus))
    labels = corpus.manifest["emotion"].to_numpy()
    rest, test = train_test_split(indices, test_size=0.20, stratify=labels, random_state=seed)
    train, val = train_test_split(rest, test_size=0.20, stratify=labels[rest], random_state=seed)
    return Split("seed", "seed", seed, np.sort(train), np.sort(val), np.sort(test))


def speaker_independent_split(
    corpus: Corpus, seed: int = DEFAULT_SEED, n_test_speakers: int = 2, n_val_speakers: int = 1
) -> Split:
    """Whole speakers held out for test and validation, balanced by gender.

    Test speakers alternate between genders (largest group first), so with
    nEMO's 3 female and 4 male speakers the test set has one of each; the
    validation speaker then comes from the gender with most speakers left.
    """
    speakers = _speakers_by_gender(corpus, seed)
    if sum(len(group) for group in speakers.values()) < n_test_speakers + n_val_speakers + 1:
        raise ValueError(
            f"speaker protocol needs at least {n_test_speakers + n_val_speakers + 1} speakers. "
            f"Received: {sum(len(g) for g in speakers.values())} speakers"
        )
    test_speakers = _draw_balanced(speakers, n_test_speakers)
    val_speakers = _draw_balanced(speakers, n_val_speakers)
    return _split_by_speakers(corpus, "speaker", "speaker", seed, test_speakers, val_speakers)


def leave_one_speaker_out_splits(corpus: Corpus, seed: int = DEFAULT_SEED) -> list[Split]:
    """One fold per speaker: that speaker is the test set.

    Validation is another whole speaker (of the opposite gender where there is
    one, drawn with `seed`) so that checkpoints are selected on an unseen voice
    that is not the test voice.
    """
    speakers = sorted(corpus.manifest["speaker"].unique())
    if len(speakers) < 3:
        raise ValueError(f"loso needs at least 3 speakers. Received: {len(speakers)} speakers")
    gender = corpus.manifest.groupby("speaker")["gender"].first().to_dict()
    rng = np.random.default_rng(seed)
    splits = []
    for speaker in speakers:
        others = [s for s in speakers if s != speaker]
        opposite = [s for s in others if gender[s] != gender[speaker]]
        val_speaker = str(rng.choice(opposite or others))
        splits.append(
            _split_by_speakers(corpus, f"loso-{speaker}", "loso", seed, [speaker], [val_speaker])
        )
    return splits


def kfold_splits(
    corpus: Corpus, seed: int = DEFAULT_SEED, *, n_folds: int = 5, grouped: bool = True
) -> list[Split]:
    """Stratified k-fold; with `grouped` no speaker is in two folds' test sets.

    Validation is carved from each fold's training part: by speaker when
    grouped (so it stays speaker-independent), else a stratified 20%.
    """
    labels = corpus.manifest["emotion"].to_numpy()
    groups = corpus.manifest["speaker"].to_numpy()
    indices = np.arange(len(corpus))
    if grouped:
        if len(np.unique(groups)) < n_folds + 1:
            raise ValueError(
                f"grouped kfold needs more speakers than folds. Received: "
                f"{len(np.unique(groups))} speakers, n_folds={n_folds}"
            )
        folds = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(
            indices, labels, groups
        )
    else:
        folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed).split(
            indices, labels
        )
    splits = []
    for fold, (rest, test) in enumerate(folds):
        if grouped:
            val_folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
            inner_train, inner_val = next(val_folds.split(rest, labels[rest], groups[rest]))
            train, val = rest[inner_train], rest[inner_val]
        else:
            train, val = train_test_split(
                rest, test_size=0.20, stratify=labels[rest], random_state=seed
            )
        splits.append(
            Split(f"kfold-{fold}", "kfold", seed, np.sort(train), np.sort(val), np.sort(test))
        )
    return splits


def write_split(split: Split, corpus: Corpus, run_dir) -> None:
    """Save the split's exact file lists (with speaker and emotion) as `split.json`."""
    from pathlib import Path

    manifest = corpus.manifest
    payload = {"name": split.name, "protocol": split.protocol, "seed": split.seed}
    for part, indices in split.parts().items():
        rows = manifest.iloc[indices]
        payload[f"{part}_speakers"] = sorted(rows["speaker"].unique().tolist())
        payload[part] = rows[["path", "speaker", "emotion"]].to_dict("records")
    atomic_write_json(Path(run_dir) / "split.json", payload)


def _speakers_by_gender(corpus: Corpus, seed: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    gender = corpus.manifest.groupby("speaker")["gender"].first()
    groups = {}
    for value in sorted(gender.unique()):
        members = sorted(gender[gender == value].index)
        groups[value] = [str(s) for s in rng.permutation(members)]
    return groups


def _draw_balanced(groups: dict[str, list[str]], count: int) -> list[str]:
    """Take `count` speakers, each time from the gender with most left (removes them)."""
    drawn = []
    for _ in range(count):
        largest = max(sorted(groups), key=lambda g: len(groups[g]))
        drawn.append(groups[largest].pop(0))
    return drawn


def _split_by_speakers(corpus, name, protocol, seed, test_speakers, val_speakers) -> Split:
    speaker = corpus.manifest["speaker"].to_numpy()
    test = np.flatnonzero(np.isin(speaker, test_speakers))
    val = np.flatnonzero(np.isin(speaker, val_speakers))
    train = np.flatnonzero(~np.isin(speaker, list(test_speakers) + list(val_speakers)))
    return Split(name, protocol, seed, train, val, test)
