"""Feature normalization, named by one spec string.

Features are `(n_clips, n_bins, n_frames)` arrays. A spec chains at most one
first stage and an optional global stage with "+":

    "none"            raw features
    "clip"            z-score each clip over all its bins and frames
    "speaker"         z-score each bin with the mean/std of that speaker's own clips
    "global"          z-score each bin with statistics fitted on the training split
    "clip+global"     per clip, then global
    "speaker+global"  per speaker, then global

"clip" and "speaker" statistics come from the clips being normalized (for
"speaker", every clip of that speaker passed in the same call; labels are
never used), so they work unchanged at evaluation and prediction time. A
"speaker" stage fitted with `prior_clips` shrinks each speaker's statistics
towards the training population's by how many clips of the speaker are in
the call (`kser.speakers.statistics`): one clip is z-scored with the
population's statistics, hundreds with the speaker's own; with
`voice_temperature` too, the population is replaced by a mixture of similar
training voices (`kser.speakers.statistics.VoiceStatistics`). Without a prior
(older bundles) a speaker's statistics are its clips' alone. "global"
statistics are fitted once, on training clips only, and saved with the model
so inference divides by the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kser.errors import KserFeatureError
from kser.paths import atomic_write_json
from kser.speakers.statistics import STD_FLOOR, SpeakerPrior, checked_features

NORMALIZATIONS = ("none", "clip", "speaker", "global", "clip+global", "speaker+global")
_FILE_FORMAT = "kser-normalizer/1"


def per_clip_normalize(features) -> np.ndarray:
    """Z-score each clip over its bins and frames. `(..., n_bins, n_frames)` -> same."""
    features = np.asarray(features, dtype=np.float32)
    mean = features.mean(axis=(-2, -1), keepdims=True, dtype=np.float64)
    std = features.std(axis=(-2, -1), keepdims=True, dtype=np.float64)
    return ((features - mean) / np.maximum(std, STD_FLOOR)).astype(np.float32)


def per_speaker_normalize(features, speakers, prior: SpeakerPrior | None = None) -> np.ndarray:
    """Z-score each bin with the mean/std over all clips and frames of the clip's speaker,
    shrunk towards `prior` by the speaker's clip count when one is given.

    `features`: `(n_clips, n_bins, n_frames)`; `speakers`: `(n_clips,)` ids.
    """
    mean, std = per_speaker_statistics(features, speakers, prior)
    return ((checked_features(features) - mean[:, :, None]) / std[:, :, None]).astype(np.float32)


def per_speaker_statistics(features, speakers, prior: SpeakerPrior | None = None):
    """Each clip's speaker's per-bin `(mean, std)`, `(n_clips, n_bins)` twice (see
    `per_speaker_normalize`)."""
    features = checked_features(features)
    speakers = np.asarray(speakers)
    if speakers.shape != (features.shape[0],):
        raise KserFeatureError(
            "speaker normalization needs one speaker id per clip. "
            f"Received: {speakers.shape[0] if speakers.ndim else 0} ids for "
            f"{features.shape[0]} clips"
        )
    mean = np.empty(features.shape[:2], dtype=np.float32)
    std = np.empty(features.shape[:2], dtype=np.float32)
    for speaker in np.unique(speakers):
        rows = speakers == speaker
        if prior is None:
            own_mean, own_std = _bin_statistics(features[rows])
            mean[rows], std[rows] = own_mean[:, 0], own_std[:, 0]
        else:
            mean[rows], std[rows] = prior.statistics(features[rows])
    return mean, std


class Normalizer:
    """The normalization named by `spec` (see `NORMALIZATIONS`).

    `fit(train_features, train_speakers, prior_clips=k)` learns the global
    statistics (a no-op without a global stage) and, for a "speaker" stage
    with `prior_clips`, the population prior of each speaker's statistics
    (`prior`, a `kser.speakers.statistics.SpeakerPrior`);
    `transform(features, speakers)` applies every stage. `save`/`load` keep
    the spec and statistics in a JSON file.
    """

    def __init__(self, spec: str = "clip", mean=None, std=None, prior=None):
        if spec not in NORMALIZATIONS:
            raise KserFeatureError(
                f"unknown normalization; expected one of {NORMALIZATIONS}. Received: spec={spec!r}"
            )
        self.spec = spec
        stages = spec.split("+")
        self.first_stage = stages[0] if stages[0] in ("clip", "speaker") else None
        self.uses_global = stages[-1] == "global"
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float32)
        self.std = None if std is None else np.asarray(std, dtype=np.float32)
        if isinstance(prior, dict):
            prior = SpeakerPrior.from_dict(prior)
        if prior is not None and self.first_stage != "speaker":
            raise KserFeatureError(f"normalization {spec!r} has no speaker stage for a prior")
        self.prior = prior

    @property
    def needs_speakers(self) -> bool:
        return self.first_stage == "speaker"

    @property
    def is_fitted(self) -> bool:
        return not self.uses_global or self.mean is not None

    def fit(
        self,
        features,
        speakers=None,
        prior_clips: float | None = None,
        voice_temperature: float | None = None,
    ) -> Normalizer:
        """Learn global per-bin statistics from `features`: pass training clips only.

        `prior_clips` (k > 0, "speaker" stages only): also learn the population
        prior that a speaker's statistics are shrunk towards (see module docstring);
        `voice_temperature`: make that prior voice-matched over the `speakers`."""
        if prior_clips is not None:
            if self.first_stage != "speaker":
                raise KserFeatureError(
                    f"normalization {self.spec!r} has no speaker statistics to shrink. "
                    f"Received: prior_clips={prior_clips!r}"
                )
            self.prior = SpeakerPrior.fit(features, prior_clips, speakers, voice_temperature)
        if self.uses_global:
            mean, std = _bin_statistics(self._first_stage(features, speakers))
            self.mean, self.std = mean[:, 0], std[:, 0]
        return self

    def with_prior_clips(self, clips: float, voice_temperature: float | None = None) -> Normalizer:
        """The same normalization with the prior's weight `clips` (k) changed, and the
        temperature of a voice-matched prior when `voice_temperature` is given."""
        if self.prior is None:
            raise KserFeatureError(f"normalization {self.spec!r} has no speaker prior")
        prior = self.prior.with_settings(clips, voice_temperature)
        return Normalizer(self.spec, self.mean, self.std, prior)

    def transform(self, features, speakers=None) -> np.ndarray:
        """Normalized float32 copy of `(n_clips, n_bins, n_frames)` features."""
        return self._global_stage(self._first_stage(features, speakers))

    def transform_with_speaker_statistics(self, features, mean, std) -> np.ndarray:
        """`transform` of a "speaker" spec with each clip's speaker statistics given:
        `mean` and `std` `(n_clips, n_bins)` (as training on subsets of clips needs)."""
        features = checked_features(features)
        normalized = (features - mean[:, :, None]) / std[:, :, None]
        return self._global_stage(normalized.astype(np.float32))

    def _global_stage(self, normalized: np.ndarray) -> np.ndarray:
        if not self.uses_global:
            return normalized
        if self.mean is None:
            raise KserFeatureError(
                f"normalization {self.spec!r} has no global statistics yet: call fit() on the "
                "training clips or load() saved statistics"
            )
        if normalized.shape[1] != self.mean.shape[0]:
            raise KserFeatureError(
                f"normalization statistics are for {self.mean.shape[0]} bins. "
                f"Received: features with {normalized.shape[1]} bins"
            )
        return ((normalized - self.mean[:, None]) / self.std[:, None]).astype(np.float32)

    def _first_stage(self, features, speakers) -> np.ndarray:
        features = checked_features(features)
        if self.first_stage == "clip":
            return per_clip_normalize(features)
        if self.first_stage == "speaker":
            if speakers is None:
                raise KserFeatureError(
                    f"normalization {self.spec!r} needs the speaker id of every clip. "
                    "Received: speakers=None"
                )
            return per_speaker_normalize(features, speakers, self.prior)
        return features

    def get_config(self) -> dict:
        return {
            "spec": self.spec,
            "mean": None if self.mean is None else self.mean.tolist(),
            "std": None if self.std is None else self.std.tolist(),
            "prior": None if self.prior is None else self.prior.to_dict(),
        }

    @classmethod
    def from_config(cls, config: dict) -> Normalizer:
        return cls(config["spec"], config.get("mean"), config.get("std"), config.get("prior"))

    def save(self, path) -> Path:
        """Write the spec and statistics to `path` (JSON, atomically)."""
        if not self.is_fitted:
            raise KserFeatureError(f"cannot save normalization {self.spec!r} before fit()")
        return atomic_write_json(path, {"format": _FILE_FORMAT, **self.get_config()})

    @classmethod
    def load(cls, path) -> Normalizer:
        path = Path(path)
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise KserFeatureError(
                f"{path}: cannot read normalization statistics ({error})"
            ) from None
        if not isinstance(config, dict) or config.get("format") != _FILE_FORMAT:
            raise KserFeatureError(f"{path}: not a kser normalization file ({_FILE_FORMAT})")
        return cls.from_config(config)

    def __repr__(self) -> str:
        prior = "" if self.prior is None else f", prior_clips={self.prior.clips:g}"
        if self.prior is not None and self.prior.voices is not None:
            prior += f", voice_temperature={self.prior.voices.temperature:g}"
        return f"Normalizer(spec={self.spec!r}, fitted={self.is_fitted}{prior})"


def _bin_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin mean and floored std over clips and frames, shaped `(n_bins, 1)`."""
    mean = features.mean(axis=(0, 2), dtype=np.float64)
    std = features.std(axis=(0, 2), dtype=np.float64)
    return (
        mean.astype(np.float32)[:, None],
        np.maximum(std, STD_FLOOR).astype(np.float32)[:, None],
    )
