"""Prediction records and audio-file discovery, numpy and soundfile only.

The same records as `kser.training.bundle` (which needs Keras) hands out, so
`kser predict` prints and writes them alike for either kind of bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from kser.errors import KserDataError


@dataclass
class WindowPrediction:
    """One window of a file: its span in seconds and class probabilities."""

    start: float
    end: float
    probabilities: np.ndarray


@dataclass
class FilePrediction:
    """Class probabilities of one file (the mean over its windows) and, on request, each window."""

    path: str
    labels: tuple[str, ...]
    probabilities: np.ndarray
    windows: list[WindowPrediction] = field(default_factory=list)

    @property
    def emotion(self) -> str:
        return self.labels[int(np.argmax(self.probabilities))]

    def to_dict(self) -> dict:
        record = {
            "path": self.path,
            "emotion": self.emotion,
            "probabilities": self._named(self.probabilities),
        }
        if self.windows:
            record["windows"] = [
                {"start": w.start, "end": w.end, "probabilities": self._named(w.probabilities)}
                for w in self.windows
            ]
        return record

    def _named(self, probabilities) -> dict[str, float]:
        return {label: float(p) for label, p in zip(self.labels, probabilities, strict=True)}


def window_starts(n_samples: int, window: int, hop: int) -> list[int]:
    """Starts of `window`-sample windows `hop` apart over `n_samples`, the last one ending
    at the end; one window at 0 when the signal is no longer than a window."""
    if n_samples <= window:
        return [0]
    last = n_samples - window
    return sorted(set(range(0, last, hop)) | {last})


def audio_files(paths) -> list[Path]:
    """The files named in `paths`, with folders replaced by the audio files under them, sorted."""
    extensions = {f".{extension.lower()}" for extension in soundfile.available_formats()}
    extensions |= {".oga", ".opus"}
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in extensions
            )
            if not found:
                raise KserDataError(f"{path}: folder holds no audio files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise KserDataError(f"{path}: audio file not found")
    if not files:
        raise KserDataError("no audio files given")
    return files
