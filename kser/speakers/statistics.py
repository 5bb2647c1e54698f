"""Per-speaker normalization statistics that grow with the audio seen of the speaker.

Per-speaker z-scoring removes what a voice adds to every clip (its pitch,
timbre, loudness), but statistics of one clip leave nothing of that clip
(each value minus itself), and those of a few clips are noise. So a
speaker's per-bin mean and variance are shrunk towards the training
population's by how many clips of the speaker were seen:

    w = (n - 1) / (n - 1 + k)
    mean = w * m_speaker + (1 - w) * m_population
    var  = w * v_speaker + (1 - w) * v_population

`n` counts the speaker's clips (3 s windows) in the group, `k`
(`SpeakerPrior.clips`) is fitted on validation speakers. One clip gets the
population's statistics exactly (plain global z-scoring), many clips
approach the speaker's own. `n - 1` rather than `n` because a single clip's
own mean is exactly what must not be subtracted from it.

With `VoiceStatistics` (a voice-matched prior), the population is replaced
by a mixture of the training speakers' statistics weighted by how close the
group's mean is to each speaker's mean, so one clip is compared with similar
voices rather than with everyone. While training, a subset of speaker s gets
its mixture from the other training speakers only, as a new voice would.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from kser.errors import KserFeatureError

# Floor for standard deviations: a constant bin (silence padding, a flat chroma
# band) would otherwise divide by zero.
STD_FLOOR = 1e-6
# A voice-matched prior's temperature while training; validation then picks the
# bundle's own. Distances are mean squared per-bin z-scores: a clip is ~0.1 closer
# to its own speaker's mean than to the nearest other's (median, nEMO), which 0.05
# turns into a weight ratio of about 3.
TRAINING_VOICE_TEMPERATURE = 0.05


@dataclass(frozen=True)
class VoiceStatistics:
    """Each training speaker's per-bin `means` and `variances` `(n_speakers, n_bins)`,
    clip counts `clips` and ids `speakers`, and the `temperature` of the similarity
    weights (inf: weights by clip count alone, i.e. the population's statistics).

    A group whose per-bin mean is `x` gets the moments of the mixture of the
    speakers' distributions with weights
    `clips_s * exp(-mean_b((x_b - means_sb) / scale_b)^2 / (2 * temperature))`,
    `scale` being the population's per-bin std.
    """

    speakers: tuple
    means: np.ndarray
    variances: np.ndarray
    clips: np.ndarray
    temperature: float

    def __post_init__(self):
        object.__setattr__(self, "speakers", tuple(str(s) for s in self.speakers))
        for name in ("means", "variances", "clips"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        if (
            self.means.ndim != 2
            or self.means.shape != self.variances.shape
            or self.clips.shape != (len(self.speakers),)
            or len(self.speakers) != len(self.means)
        ):
            raise KserFeatureError(
                "voice statistics need one mean, variance and clip count per speaker. "
                f"Received: {len(self.speakers)} speakers, means {self.means.shape}, "
                f"variances {self.variances.shape}, clips {self.clips.shape}"
            )
        if not (isinstance(self.temperature, (int, float)) and self.temperature > 0):
            raise KserFeatureError(
                f"a voice prior's temperature must be positive. Received: {self.temperature!r}"
            )

    @classmethod
    def fit(cls, features, speakers, temperature: float) -> VoiceStatistics:
        """Per-speaker moments of training `features` `(n_clips, n_bins, n_frames)`."""
        features = checked_features(features)
        speakers = np.asarray(speakers).astype(str)
        ids = sorted(set(speakers))
        moments = [pooled_moments(features[speakers == speaker]) for speaker in ids]
        counts = [int(np.sum(speakers == speaker)) for speaker in ids]
        return cls(
            tuple(ids),
            np.stack([mean for mean, _ in moments]),
            np.stack([variance for _, variance in moments]),
            np.asarray(counts),
            temperature,
        )

    @functools.cached_property
    def scale(self) -> np.ndarray:
        """The population's per-bin std (the pooled moments of all the speakers' clips)."""
        weights = self.clips / self.clips.sum()
        mean = weights @ self.means
        variance = weights @ (self.variances + self.means**2) - mean**2
        return np.sqrt(np.maximum(variance, STD_FLOOR**2))

    def weights(self, group_means, exclude: str | None = None) -> np.ndarray:
        """Mixture weights `(n_groups, n_speakers)` of groups with per-bin means
        `(n_groups, n_bins)`; speaker `exclude` gets none (leave-speaker-out)."""
        group_means = np.asarray(group_means, dtype=np.float64)
        scale = self.scale
        log_weights = np.tile(np.log(self.clips), (len(group_means), 1))
        if np.isfinite(self.temperature):
            for index, mean in enumerate(self.means):
                distance = (((group_means - mean) / scale) ** 2).mean(axis=1)
                log_weights[:, index] -= distance / (2.0 * self.temperature)
        if exclude is not None and str(exclude) in self.speakers:
            log_weights[:, self.speakers.index(str(exclude))] = -np.inf
        log_weights -= log_weights.max(axis=1, keepdims=True)
        weights = np.exp(log_weights)
        return weights / weights.sum(axis=1, keepdims=True)

    def mixture(self, group_means, exclude: str | None = None):
        """Prior per-bin `(mean, variance)` `(n_groups, n_bins)` of each group."""
        weights = self.weights(group_means, exclude)
        mean = weights @ self.means
        return mean, np.maximum(weights @ (self.variances + self.means**2) - mean**2, 0.0)

    def with_temperature(self, temperature: float) -> VoiceStatistics:
        return VoiceStatistics(self.speakers, self.means, self.variances, self.clips, temperature)

    def to_dict(self) -> dict:
        return {
            "speakers": list(self.speakers),
            "means": self.means.tolist(),
            "variances": self.variances.tolist(),
            "clips": self.clips.tolist(),
            # JSON has no infinity: null is the population's weighting.
            "temperature": None if np.isinf(self.temperature) else float(self.temperature),
        }

    @classmethod
    def from_dict(cls, values: dict) -> VoiceStatistics:
        temperature = values.get("temperature")
        return cls(
            values["speakers"],
            values["means"],
            values["variances"],
            values["clips"],
            float("inf") if temperature is None else temperature,
        )


@dataclass(frozen=True)
class SpeakerPrior:
    """The training population's per-bin `mean` and `std` (raw features, over clips
    and frames), and `clips`: k, the weight of the population in clips (> 0).
    `voices` (optional): a voice-matched prior replacing the population's
    statistics with a mixture of similar training speakers' (module docstring)."""

    mean: np.ndarray
    std: np.ndarray
    clips: float
    voices: VoiceStatistics | None = None

    def __post_init__(self):
        object.__setattr__(self, "mean", np.asarray(self.mean, dtype=np.float64))
        object.__setattr__(self, "std", np.asarray(self.std, dtype=np.float64))
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape:
            raise KserFeatureError(
                "a speaker prior needs one mean and one std per bin. "
                f"Received: mean shape {self.mean.shape}, std shape {self.std.shape}"
            )
        if isinstance(self.clips, bool) or not (
            isinstance(self.clips, (int, float)) and self.clips > 0
        ):
            raise KserFeatureError(
                f"a speaker prior's clips (k) must be a positive number. Received: {self.clips!r}"
            )

    @classmethod
    def fit(
        cls, features, clips: float, speakers=None, voice_temperature: float | None = None
    ) -> SpeakerPrior:
        """The prior of training `features` `(n_clips, n_bins, n_frames)` with weight `clips`;
        with `voice_temperature`, voice-matched over the training `speakers` (one id per clip)."""
        features = checked_features(features)
        mean, variance = pooled_moments(features)
        voices = None
        if voice_temperature is not None:
            if speakers is None:
                raise KserFeatureError("a voice-matched prior needs the speaker id of every clip")
            voices = VoiceStatistics.fit(features, speakers, voice_temperature)
        return cls(mean, np.sqrt(variance), clips, voices)

    def with_settings(self, clips: float, voice_temperature: float | None = None) -> SpeakerPrior:
        """The same prior with weight `clips` and, for a voice-matched one, `voice_temperature`
        (None: unchanged)."""
        voices = self.voices
        if voices is not None and voice_temperature is not None:
            voices = voices.with_temperature(voice_temperature)
        return SpeakerPrior(self.mean, self.std, clips, voices)

    def weight(self, n_clips) -> np.ndarray:
        """How much of the speaker's own statistics `n_clips` clips earn, in [0, 1)."""
        seen = np.maximum(np.asarray(n_clips, dtype=np.float64) - 1.0, 0.0)
        return seen / (seen + self.clips)

    def shrink(
        self, mean, variance, n_clips, exclude: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Shrunk `(mean, std)` of a speaker's `(..., n_bins)` moments over `n_clips` clips
        (a number, or one per row of `mean`), in the moments' float type. `exclude`: the
        training speaker whose clips these are, left out of a voice-matched prior."""
        dtype = np.result_type(mean, np.float32)
        weight = self.weight(n_clips).astype(dtype)
        if weight.ndim:
            weight = weight[:, None]
        prior_mean, prior_variance = self.prior_moments(mean, exclude)
        prior_mean, prior_variance = prior_mean.astype(dtype), prior_variance.astype(dtype)
        shrunk_mean = prior_mean + weight * (mean - prior_mean)
        shrunk_std = prior_variance + weight * (variance - prior_variance)
        np.sqrt(shrunk_std, out=shrunk_std)
        return shrunk_mean, np.maximum(shrunk_std, STD_FLOOR, out=shrunk_std)

    def prior_moments(self, mean, exclude: str | None = None):
        """The prior's per-bin `(mean, variance)` for groups with per-bin `mean`
        (`(n_bins,)` or `(n_groups, n_bins)`; the result has the same shape)."""
        if self.voices is None:
            return self.mean, self.std**2
        mean = np.asarray(mean)
        prior_mean, prior_variance = self.voices.mixture(np.atleast_2d(mean), exclude)
        if mean.ndim == 1:
            return prior_mean[0], prior_variance[0]
        return prior_mean, prior_variance

    def statistics(self, features) -> tuple[np.ndarray, np.ndarray]:
        """Shrunk per-bin `(mean, std)` of one speaker's `(n_clips, n_bins, n_frames)`."""
        features = checked_features(features)
        mean, variance = pooled_moments(features)
        return self.shrink(mean, variance, len(features))

    def to_dict(self) -> dict:
        values = {"mean": self.mean.tolist(), "std": self.std.tolist(), "clips": float(self.clips)}
        if self.voices is not None:
            values["voices"] = self.voices.to_dict()
        return values

    @classmethod
    def from_dict(cls, values: dict) -> SpeakerPrior:
        # Priors saved before voice matching have no "voices".
        voices = values.get("voices")
        voices = None if voices is None else VoiceStatistics.from_dict(voices)
        return cls(values["mean"], values["std"], values["clips"], voices)


def pooled_moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin mean and variance over all clips and frames of `(n, n_bins, n_frames)`."""
    return (
        features.mean(axis=(0, 2), dtype=np.float64),
        features.var(axis=(0, 2), dtype=np.float64),
    )


def clip_moments(features) -> tuple[np.ndarray, np.ndarray]:
    """Each clip's per-bin mean and mean square over frames: `(n, n_bins)` twice.

    Clips have equal frame counts, so the moments of any subset of clips are the
    plain averages of these (see `subset_moments`)."""
    features = checked_features(features)
    return features.mean(axis=2), (features**2).mean(axis=2)


def subset_moments(means, squares, members) -> tuple[np.ndarray, np.ndarray]:
    """Pooled per-bin mean and variance of the clips `members` (rows of `clip_moments`)."""
    mean = means[members].mean(axis=0)
    return mean, np.maximum(squares[members].mean(axis=0) - mean**2, 0.0)


def checked_features(features) -> np.ndarray:
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 3 or features.shape[0] == 0:
        raise KserFeatureError(
            "features must have shape (n_clips, n_bins, n_frames) with at least one clip. "
            f"Received: shape={features.shape}"
        )
    return features


class SubsetStatistics:
    """Speaker statistics of training clips, each from a random subset of its speaker's
    clips, so that a model learns inputs normalized as a speaker seen for 1 clip, 5, or
    all of them would be at prediction time.

    A clip's subset always holds the clip itself (as a prediction-time group
    does) and has a size drawn log-uniformly from 1 to all the speaker's clips:
    small groups, where normalization changes most with the size, are drawn as
    often as large ones per octave. One draw (`sample`) covers every clip:
    each speaker's clips are put in a random order, and a clip's subset is the
    first `size` of them, itself swapped in for the last when it comes later,
    so a draw costs two cumulative sums per speaker.
    """

    def __init__(self, features, speakers, prior: SpeakerPrior):
        self.means, self.squares = clip_moments(features)
        self.prior = prior
        speakers = np.asarray(speakers).astype(str)
        self._speakers = sorted(set(speakers))
        self._rows_of = [np.flatnonzero(speakers == speaker) for speaker in self._speakers]

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Shrunk `(mean, std)` `(n_clips, n_bins)` of every clip's random subset (a
        voice-matched prior leaves the clip's own speaker out)."""
        shrunk_means = np.empty_like(self.means)
        shrunk_stds = np.empty_like(self.means)
        for speaker, rows in zip(self._speakers, self._rows_of, strict=True):
            order = rng.permutation(rows)
            rank = np.empty(len(rows), dtype=np.int64)
            rank[np.searchsorted(rows, order)] = np.arange(len(rows))
            size = np.array([log_uniform_size(len(rows), rng) for _ in rows], dtype=np.float32)
            # Sums of the first j clips in `order`, j = 0..n.
            first_means = _prefix_sums(self.means[order])
            first_squares = _prefix_sums(self.squares[order])
            inside = rank < size  # the clip is among the first `size`: take them as they are
            taken = np.where(inside, size, size - 1).astype(np.int64)
            own = np.where(inside, 0.0, 1.0).astype(np.float32)[:, None]
            mean = (first_means[taken] + own * self.means[rows]) / size[:, None]
            square = (first_squares[taken] + own * self.squares[rows]) / size[:, None]
            shrunk_means[rows], shrunk_stds[rows] = self.prior.shrink(
                mean, np.maximum(square - mean**2, 0.0), size, exclude=speaker
            )
        return shrunk_means, shrunk_stds


def _prefix_sums(values: np.ndarray) -> np.ndarray:
    sums = np.zeros((len(values) + 1, values.shape[1]), dtype=values.dtype)
    np.cumsum(values, axis=0, out=sums[1:])
    return sums


def log_uniform_size(largest: int, rng: np.random.Generator) -> int:
    """An integer in [1, largest], log-uniformly distributed."""
    return int(min(largest, np.floor(np.exp(rng.uniform(0.0, np.log(largest + 1.0))))))
