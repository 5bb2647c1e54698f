"""The corpus manifest: one row per clip, whatever the source.

Columns: path (absolute), emotion, speaker, gender, text, duration (seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

MANIFEST_COLUMNS = ("path", "emotion", "speaker", "gender", "text", "duration")


@dataclass
class Corpus:
    """A manifest plus what kser needs to know about it.

    `labels` fixes the class-index order; `source` says where the data came
    from (printed so a user knows which copy was used); `skipped` lists
    `(file, reason)` for clips dropped by `skip_bad`.
    """

    manifest: pd.DataFrame
    labels: tuple[str, ...]
    source: str
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.manifest)

    @property
    def label_indices(self):
        """Class index of every clip, in manifest order."""
        lookup = {label: index for index, label in enumerate(self.labels)}
        return self.manifest["emotion"].map(lookup).to_numpy()

    def subset(self, indices) -> Corpus:
        """The same corpus restricted to `indices` (rows renumbered from 0)."""
        rows = self.manifest.iloc[list(indices)].reset_index(drop=True)
        return Corpus(rows, self.labels, self.source, list(self.skipped))


def describe_corpus(corpus: Corpus) -> str:
    """Tables of clips per emotion, per speaker (with gender) and durations."""
    manifest = corpus.manifest
    per_emotion = manifest["emotion"].value_counts().reindex(list(corpus.labels), fill_value=0)
    per_speaker = (
        manifest.groupby("speaker")
        .agg(gender=("gender", "first"), clips=("path", "size"), seconds=("duration", "sum"))
        .sort_index()
    )
    per_speaker["seconds"] = per_speaker["seconds"].round(1)
    crosstab = pd.crosstab(manifest["speaker"], manifest["emotion"]).reindex(
        columns=list(corpus.labels), fill_value=0
    )
    durations = manifest["duration"]
    lines = [
        f"source: {corpus.source}",
        f"clips: {len(manifest)}  speakers: {manifest['speaker'].nunique()}  "
        f"emotions: {len(corpus.labels)}",
        "",
        "clips per emotion",
        per_emotion.rename("clips").to_frame().to_string(),
        "",
        "clips per speaker",
        per_speaker.to_string(),
        "",
        "clips per speaker and emotion",
        crosstab.to_string(),
        "",
        f"duration (s): min {durations.min():.2f}  mean {durations.mean():.2f}  "
        f"max {durations.max():.2f}  total {durations.sum() / 3600:.2f} h",
    ]
    if corpus.skipped:
        lines += ["", f"skipped {len(corpus.skipped)} bad clips (see --skip-bad summary)"]
    return "\n".join(lines)
