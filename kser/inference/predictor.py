"""`Predictor`: what trained and exported bundles share, from audio files to scores.

A subclass provides the model: `predict_features(features, speakers)` (raw
features in, probabilities out, normalizing and adapting per speaker),
`_extract(waveforms)` (raw features of clip-length windows),
`_corpus_features(corpus, rows, **options)`, `_normalizers()` and
`_profile_identity()`, and the attributes `labels`, `sample_rate`,
`clip_seconds`, `clip_samples` and `directory`. Windowing, speaker groups and
profiles, skipped files, split lists and scoring are the same for both.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

from kser.data.audio import fix_length, load_waveform
from kser.errors import KserBundleError, KserDataError
from kser.speakers.groups import speaker_groups
from kser.speakers.profile import SpeakerProfile

SPLIT_FILE = "split.json"
# Long recordings are scored in clip-length windows this far apart, then averaged.
WINDOW_HOP_SECONDS = 1.5
# Fewer windows than this per speaker give unreliable per-speaker statistics.
MIN_SPEAKER_WINDOWS = 20


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
    probabilities: np.ndarray | None
    windows: list[WindowPrediction] = field(default_factory=list)
    error: str | None = None  # why the file was skipped (`predict_files(..., skip_bad=True)`)

    @property
    def emotion(self) -> str | None:
        if self.probabilities is None:
            return None
        return self.labels[int(np.argmax(self.probabilities))]

    def to_dict(self) -> dict:
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        record = {
            "path": self.path,
            "emotion": self.emotion,
            "probabilities": _by_label(self.labels, self.probabilities),
        }
        if self.windows:
            record["windows"] = [
                {
                    "start": w.start,
                    "end": w.end,
                    "probabilities": _by_label(self.labels, w.probabilities),
                }
                for w in self.windows
            ]
        return record


class Predictor:
    """Prediction from audio and scoring on a corpus, for any model (see the module docstring)."""

    def speaker_profile(self) -> SpeakerProfile:
        """An empty `SpeakerProfile` of a new voice, for this bundle."""
        return SpeakerProfile(self._profile_identity())

    def predict_waveforms(
        self, waveforms, speakers=None, per_window: bool = False, *, profile=None, names=None
    ):
        """Probabilities of each waveform (1-D, at `sample_rate`), as `(n, n_labels)`.

        A waveform up to the clip length is zero-padded, as in training; a
        longer one is cut into clip-length windows `WINDOW_HOP_SECONDS` apart
        (the last one ending at the end) whose probabilities are averaged.
        `speakers`: one id per waveform for per-speaker normalization; by
        default all waveforms count as one speaker. `profile`: a
        `SpeakerProfile` of that one speaker: the waveforms are scored together
        with every clip it holds (as if all were passed at once), then added
        to it under `names` (one per waveform). With `per_window`, also
        returns each waveform's list of `WindowPrediction`.
        """
        if profile is not None and speakers is not None:
            raise KserDataError("a speaker profile is one speaker's: pass no speaker ids with it")
        if speakers is None:
            speakers = np.zeros(len(waveforms), dtype=np.int64)
        spans, windows, owners = [], [], []
        for owner, waveform in enumerate(waveforms):
            for start in self._window_starts(len(waveform)):
                windows.append(
                    fix_length(waveform[start : start + self.clip_samples], self.clip_samples)
                )
                spans.append((start, min(start + self.clip_samples, len(waveform))))
                owners.append(owner)
        if not windows:
            raise KserDataError("no waveforms to predict")
        speakers = np.asarray(speakers)[owners]
        features = self._extract(np.stack(windows))
        if profile is None:
            self._warn_about_small_speaker_groups(speakers)
            window_probabilities = self.predict_features(features, speakers)
        else:
            names = [str(n) for n in (names if names is not None else range(len(waveforms)))]
            window_probabilities = self._predict_with_profile(
                features, profile, [names[owner] for owner in owners]
            )
        owners = np.asarray(owners)
        probabilities = np.stack(
            [window_probabilities[owners == owner].mean(axis=0) for owner in range(len(waveforms))]
        )
        if not per_window:
            return probabilities
        details = [
            [
                WindowPrediction(
                    start / self.sample_rate, end / self.sample_rate, window_probabilities[i]
                )
                for i, (start, end) in enumerate(spans)
                if owners[i] == owner
            ]
            for owner in range(len(waveforms))
        ]
        return probabilities, details

    def _predict_with_profile(self, features, profile: SpeakerProfile, names) -> np.ndarray:
        """Probabilities of the rows of `features`, scored with every window of `profile`
        as one speaker; the rows are then added to `profile`."""
        if profile.bundle != self._profile_identity():
            raise KserBundleError(
                f"{self.directory}: the speaker profile was made for another bundle "
                "(other features or normalization); start a new profile for this one"
            )
        multi_input = isinstance(features, dict)
        new = features if multi_input else {"": features}
        seen = {name: profile.features.get(name, values[:0]) for name, values in new.items()}
        joined = {name: np.concatenate([seen[name], new[name]]) for name in new}
        if not multi_input:
            joined = joined[""]
        probabilities = self.predict_features(joined)[profile.n_clips :]
        profile.add(new, names)
        return probabilities

    def predict_files(
        self,
        paths,
        per_window: bool = False,
        separate_speakers: bool = False,
        *,
        speakers=None,
        profile=None,
        skip_bad: bool = False,
    ):
        """`FilePrediction` of every audio file in `paths` (files or folders, searched recursively).

        Any format and sample rate soundfile decodes; audio is resampled to the
        bundle's rate. For a bundle normalized per speaker, all files count as
        one speaker by default; `separate_speakers` makes each file its own,
        `speakers` (one id per file of `paths`, which are then files) groups
        them, and `profile` (a `SpeakerProfile`) scores them with the clips of
        their speaker seen before and keeps them. A file that cannot be decoded
        raises `KserDataError` naming it; with `skip_bad` its prediction holds
        the error instead and the others are scored.
        """
        files = audio_files(paths)
        if speakers is not None and len(speakers) != len(files):
            raise KserDataError(
                f"one speaker id per file is needed: {len(speakers)} ids for {len(files)} files"
            )
        waveforms, errors = [], {}
        for index, path in enumerate(files):
            try:
                waveforms.append(load_waveform(path, self.sample_rate))
            except KserDataError as error:
                if not skip_bad:
                    raise
                errors[index] = str(error)
        decoded = [index for index in range(len(files)) if index not in errors]
        if separate_speakers:
            speakers = np.arange(len(files))
        if speakers is not None:
            speakers = np.asarray(speakers)[decoded]
        probabilities, windows = (
            self.predict_waveforms(
                waveforms,
                speakers,
                per_window=True,
                profile=profile,
                names=[files[index] for index in decoded],
            )
            if decoded
            else ([], [])
        )
        position = {index: order for order, index in enumerate(decoded)}
        return [
            FilePrediction(str(path), self.labels, None, error=errors[i])
            if i in errors
            else FilePrediction(
                str(path),
                self.labels,
                probabilities[position[i]],
                windows[position[i]] if per_window else [],
            )
            for i, path in enumerate(files)
        ]

    def evaluate(
        self,
        corpus,
        indices=None,
        *,
        seed: int = 0,
        clips_per_speaker=None,
        features=None,
        **feature_options,
    ):
        """Score the bundle on `corpus` (all clips, or the rows `indices`): an `EvaluationResult`.

        Clips are centre-cropped or padded to the clip length exactly as in
        training, and normalized per speaker with the corpus's speaker ids when
        the bundle's normalization needs them. `clips_per_speaker`: score each
        speaker's clips in random groups of that many (seeded by `seed`; 1: each
        clip alone), as an application that knows only a few clips of a voice
        would; None: all of a speaker's clips together. `feature_options` go to
        the subclass's `_corpus_features` (for a trained bundle: `feature_set`,
        the corpus's already extracted features, or `cache_root`). `features`:
        the raw features of those rows, extracted elsewhere (e.g. through a
        channel, `kser.channels.corrupted_features`), used instead.
        """
        from kser.evaluation import evaluate

        unknown = sorted(set(corpus.manifest["emotion"]) - set(self.labels))
        if unknown:
            raise KserDataError(
                f"{corpus.source}: emotion label(s) {', '.join(unknown)} unknown to the bundle "
                f"(it knows: {', '.join(self.labels)})"
            )
        rows = np.arange(len(corpus)) if indices is None else np.asarray(indices)
        manifest = corpus.manifest.iloc[rows]
        speakers = manifest["speaker"].astype(str).to_numpy()
        if features is None:
            features = self._corpus_features(corpus, rows, **feature_options)
        groups = speaker_groups(speakers, clips_per_speaker, seed)
        probabilities = self.predict_features(features, groups)
        return evaluate(
            manifest["emotion"].to_numpy(),
            probabilities,
            self.labels,
            speakers=speakers,
            genders=manifest["gender"].astype(str).to_numpy(),
            clip_ids=manifest["path"].tolist(),
            seed=seed,
        )

    def split_rows(self, corpus, part: str) -> np.ndarray:
        """Rows of `corpus` that were in the `part` ("train", "val", "test") of the bundle's split.

        Clips are matched by path against the bundle's split.json, so scoring
        `split_rows(corpus, "test")` of the training corpus reproduces the
        bundle's test report.
        """
        if part not in ("train", "val", "test"):
            raise ValueError(f"part must be train, val or test. Received: part={part!r}")
        wanted = self._split_paths()[part]
        rows = np.flatnonzero(corpus.manifest["path"].isin(wanted).to_numpy())
        if len(rows) == 0:
            raise KserDataError(
                f"{corpus.source}: none of the {len(wanted)} {part} clips listed in "
                f"{Path(self.directory) / SPLIT_FILE}"
            )
        return rows

    def unseen_rows(self, corpus) -> np.ndarray:
        """Rows of `corpus` the bundle neither trained on nor chose its epoch on (all rows of
        another corpus). Raises `KserBundleError` for a bundle without its split lists."""
        paths = self._split_paths()
        seen = corpus.manifest["path"].isin(paths["train"] | paths["val"]).to_numpy()
        return np.flatnonzero(~seen)

    def _split_paths(self) -> dict[str, set]:
        path = None if self.directory is None else Path(self.directory) / SPLIT_FILE
        if path is None or not path.is_file():
            raise KserBundleError(f"{path or 'bundle'}: no split file lists saved with this bundle")
        split = json.loads(path.read_text(encoding="utf-8"))
        return {part: {clip["path"] for clip in split[part]} for part in ("train", "val", "test")}

    def _warn_about_small_speaker_groups(self, speakers: np.ndarray) -> None:
        # Measured on nEMO's test speakers: statistics of each clip alone drop UAR
        # from 0.38 to 0.16 (below chance), all test clips as one group give 0.40.
        # Statistics shrunk towards the population's degrade gracefully instead.
        if not any(n.needs_speakers and n.prior is None for n in self._normalizers()):
            return
        smallest = int(np.unique(speakers, return_counts=True)[1].min())
        if smallest < MIN_SPEAKER_WINDOWS:
            warnings.warn(
                f"this model normalizes per speaker, but a speaker group here has only "
                f"{smallest} window(s) of {self.clip_seconds:g} s; statistics of so little "
                f"audio are unreliable and predictions degrade (pass {MIN_SPEAKER_WINDOWS} or "
                "more clips of the speaker together)",
                stacklevel=3,
            )

    def _window_starts(self, n_samples: int) -> list[int]:
        if n_samples <= self.clip_samples:
            return [0]
        hop = int(round(WINDOW_HOP_SECONDS * self.sample_rate))
        last = n_samples - self.clip_samples
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


def _by_label(labels, probabilities) -> dict[str, float]:
    return {label: float(p) for label, p in zip(labels, probabilities, strict=True)}
