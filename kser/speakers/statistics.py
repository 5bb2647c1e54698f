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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kser.errors import KserFeatureError

# Floor for standard deviations: a constant bin (silence padding, a flat chroma
# band) would otherwise divide by zero.
STD_FLOOR = 1e-6


@dataclass(frozen=True)
class SpeakerPrior:
    """The training population's per-bin `mean` and `std` (raw features, over clips
    and frames), and `clips`: k, the weight of the population in clips (> 0)."""

    mean: np.ndarray
    std: np.ndarray
    clips: float

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
    def fit(cls, features, clips: float) -> SpeakerPrior:
        """The prior of training `features` `(n_clips, n_bins, n_frames)` with weight `clips`."""
        mean, variance = pooled_moments(checked_features(features))
        return cls(mean, np.sqrt(variance), clips)

    def weight(self, n_clips) -> np.ndarray:
        """How much of the speaker's own statistics `n_clips` clips earn, in [0, 1)."""
        seen = np.maximum(np.asarray(n_clips, dtype=np.float64) - 1.0, 0.0)
        return seen / (seen + self.clips)

    def shrink(self, mean, variance, n_clips) -> tuple[np.ndarray, np.ndarray]:
        """Shrunk `(mean, std)` of a speaker's `(..., n_bins)` moments over `n_clips` clips
        (a number, or one per row of `mean`), in the moments' float type."""
        dtype = np.result_type(mean, np.float32)
        weight = self.weight(n_clips).astype(dtype)
        if weight.ndim:
            weight = weight[:, None]
        prior_mean, prior_variance = self.mean.astype(dtype), (self.std**2).astype(dtype)
        shrunk_mean = prior_mean + weight * (mean - prior_mean)
        shrunk_std = prior_variance + weight * (variance - prior_variance)
        np.sqrt(shrunk_std, out=shrunk_std)
        return shrunk_mean, np.maximum(shrunk_std, STD_FLOOR, out=shrunk_std)

    def statistics(self, features) -> tuple[np.ndarray, np.ndarray]:
        """Shrunk per-bin `(mean, std)` of one speaker's `(n_clips, n_bins, n_frames)`."""
        features = checked_features(features)
        mean, variance = pooled_moments(features)
        return self.shrink(mean, variance, len(features))

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "clips": float(self.clips)}

    @classmethod
    def from_dict(cls, values: dict) -> SpeakerPrior:
        return cls(values["mean"], values["std"], values["clips"])


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
        speakers = np.asarray(speakers)
        self._rows_of = [np.flatnonzero(speakers == speaker) for speaker in sorted(set(speakers))]

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Shrunk `(mean, std)` `(n_clips, n_bins)` of every clip's random subset."""
        means = np.empty_like(self.means)
        variances = np.empty_like(self.means)
        sizes = np.empty(len(self.means), dtype=np.float32)
        for rows in self._rows_of:
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
            means[rows], variances[rows] = mean, np.maximum(square - mean**2, 0.0)
            sizes[rows] = size
        return self.prior.shrink(means, variances, sizes)


def _prefix_sums(values: np.ndarray) -> np.ndarray:
    sums = np.zeros((len(values) + 1, values.shape[1]), dtype=values.dtype)
    np.cumsum(values, axis=0, out=sums[1:])
    return sums


def log_uniform_size(largest: int, rng: np.random.Generator) -> int:
    """An integer in [1, largest], log-uniformly distributed."""
    return int(min(largest, np.floor(np.exp(rng.uniform(0.0, np.log(largest + 1.0))))))
