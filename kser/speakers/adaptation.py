"""Speaker adaptation at prediction time: label propagation over one speaker's clips.

Numpy only (no Keras), so `kser.runtime` adapts as bundles do; the vectors
of a Keras model's graph come from `kser.inference.speaker_adaptation`.

Clips of one speaker in the same emotion resemble each other more than the
model's view of an unheard voice suggests. Given all clips of a speaker
together (as per-speaker normalization already needs), each clip's class
probabilities are smoothed towards those of its nearest neighbours among the
speaker's other clips (Zhou et al. 2004, "Learning with local and global
consistency"):

    F = (1 - strength) * (I - strength * W)^-1 * P

where P are the model's probabilities and W the row-normalised, symmetrised
k-nearest-neighbour graph of the clips (cosine similarity of standardised
vectors). Rows of F remain probability distributions. No label is used; a
group of one clip is returned unchanged.

The graph's vectors (`graph`) are the model's "input" (for one vector per
clip, e.g. functionals) or its "embedding" (the input of its "logits" layer,
for models over frames); an ensemble's are its "members"' own, joined (each
member's embedding or input, as suits it). Measured on nEMO, strength 0.8, 10
neighbours:
- leave-one-speaker-out, prosody fusion on functionals: UAR 0.572 -> 0.618 on
  its input (every setting in 5-20 neighbours x 0.5-0.9 strength: 0.600-0.622),
  0.596 on its embedding (which is only its experts' log-probabilities);
- leave-one-speaker-out, 1-D CNN on the stack: 0.439 -> 0.460 (embedding),
  0.463 (frame mean and std of its input);
- `seed` protocol, AudioResNet on mel: accuracy 0.821 -> 0.834 (embedding),
  but 0.740 on frame mean and std of the log-mel input; refitted on train +
  val, 0.856 either way;
- leave-one-speaker-out, the ensemble of prosody fusion, the kernel model on
  prosody and the stack CNN (weights as learned): 0.577 -> 0.638 on its
  inputs joined, 0.646 on its members' graph vectors joined (the CNN's
  embedding in place of frame statistics of its input); with a linear member
  on the MFCC functionals, whose vectors join the graph, 0.650 (tuned on
  adapted out-of-fold UAR). Within a speaker, the share of a clip's 10
  neighbours in its emotion: 0.71 in the default functionals, 0.73 joined
  with the CNN embedding, 0.75 in the MFCC functionals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from kser.errors import KserEvaluationError
from kser.evaluation.calibration import tempered

GRAPHS = ("input", "embedding", "members")


@dataclass(frozen=True)
class SpeakerAdaptation:
    """Label propagation within each speaker's clips (see the module docstring).

    `neighbours`: k of the k-nearest-neighbour graph. `strength`: in [0, 1),
    how far probabilities move towards the neighbours' (0: unchanged).
    `graph`: which vectors of a clip the graph compares, one of `GRAPHS`.
    `temperature`: sharpens (< 1) or flattens (> 1) the adapted probabilities,
    `p ** (1 / temperature)` renormalised, which keeps their argmax. Averaging
    over neighbours leaves probabilities under-confident (on nEMO, LOSO: mean
    ECE 0.22 for prosody fusion, 0.24 for the ensemble; 0.13 and 0.15 with the
    temperature), so it is fitted by NLL on held-out adapted predictions
    (`kser.evaluation.calibration.calibrating_temperature`); 1 leaves them as they are.
    `growth_clips`: c, how the strength grows with the clips of the speaker in
    the group, `strength * (n - 1) / (n - 1 + c)`: a neighbour graph over a few
    clips is noise, over hundreds it is worth its full strength (0: full
    strength from two clips on, as bundles before it had).
    """

    neighbours: int = 10
    strength: float = 0.8
    graph: str = "input"
    temperature: float = 1.0
    growth_clips: float = 0.0

    def __post_init__(self):
        if not isinstance(self.neighbours, int) or self.neighbours < 1:
            raise ValueError(
                f"neighbours must be a positive integer. Received: neighbours={self.neighbours!r}"
            )
        if not 0.0 <= self.strength < 1.0:
            raise ValueError(f"strength must be in [0, 1). Received: strength={self.strength!r}")
        if self.graph not in GRAPHS:
            raise ValueError(f"graph must be one of {GRAPHS}. Received: graph={self.graph!r}")
        if isinstance(self.temperature, bool) or not (
            isinstance(self.temperature, (int, float)) and self.temperature > 0
        ):
            raise ValueError(
                f"temperature must be a positive number. Received: temperature={self.temperature!r}"
            )
        if isinstance(self.growth_clips, bool) or not (
            isinstance(self.growth_clips, (int, float)) and self.growth_clips >= 0
        ):
            raise ValueError(
                f"growth_clips must be a number >= 0. Received: growth_clips={self.growth_clips!r}"
            )

    def strength_for(self, n_clips: int) -> float:
        """The propagation strength for a group of `n_clips` clips of one speaker."""
        seen = max(n_clips - 1, 0)
        if seen == 0:
            return 0.0
        return self.strength * seen / (seen + self.growth_clips)

    @classmethod
    def suited_to(cls, model) -> SpeakerAdaptation:
        """The measured choice for `model`: for an ensemble its members' vectors, else
        its embedding when it reads frames and has a "logits" layer, else its input."""
        from kser.inference.speaker_adaptation import suited_graph  # needs Keras

        return cls(graph=suited_graph(model))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> SpeakerAdaptation:
        return cls(**values)

    def apply(self, probabilities, features, speakers) -> np.ndarray:
        """Adapted `(n, classes)` probabilities; `features`: the clips' `(n, ...)` vectors
        of `graph` (or a dict of inputs), `speakers`: one id per row, grouping rows."""
        probabilities = np.asarray(probabilities, dtype=np.float64)
        summaries = clip_summaries(features)
        speakers = np.asarray(speakers)
        if not len(probabilities) == len(summaries) == len(speakers):
            raise KserEvaluationError(
                f"speaker adaptation needs one row of features and one speaker per prediction. "
                f"Received: {len(probabilities)} predictions, {len(summaries)} feature rows, "
                f"{len(speakers)} speakers"
            )
        adapted = probabilities.copy()
        for speaker in np.unique(speakers):
            rows = speakers == speaker
            strength = self.strength_for(int(rows.sum()))
            if strength > 0:
                graph = neighbour_graph(summaries[rows], self.neighbours)
                adapted[rows] = propagate(probabilities[rows], graph, strength)
                # The temperature undoes the averaging's under-confidence: as much of it
                # as the strength is of the full strength.
                temperature = 1.0 + (self.temperature - 1.0) * strength / self.strength
                if temperature != 1.0:
                    adapted[rows] = tempered(adapted[rows], temperature)
        return adapted


def clip_summaries(features) -> np.ndarray:
    """One vector per clip: `(n, bins, frames)` -> mean and standard deviation of each
    bin over frames, `(n, values)` or `(n, bins, 1)` -> the values; a dict's joined."""
    if isinstance(features, dict):
        return np.concatenate([clip_summaries(features[key]) for key in sorted(features)], axis=1)
    features = np.asarray(features, dtype=np.float64)
    if features.ndim == 2:
        return features
    flat = features.reshape(len(features), -1, features.shape[-1])
    if flat.shape[-1] == 1:
        return flat[..., 0]
    return np.concatenate([flat.mean(axis=-1), flat.std(axis=-1)], axis=1)


def neighbour_graph(summaries: np.ndarray, neighbours: int) -> np.ndarray:
    """Row-normalised, symmetrised k-nearest-neighbour graph `(n, n)` of `summaries`.

    Each column is standardised over the group first so that no value's scale
    dominates the cosine similarity. k is capped at n - 1."""
    n = len(summaries)
    k = min(neighbours, n - 1)
    centred = summaries - summaries.mean(axis=0)
    scaled = centred / np.maximum(summaries.std(axis=0), 1e-6)
    unit = scaled / np.maximum(np.linalg.norm(scaled, axis=1, keepdims=True), 1e-12)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)  # a clip is not its own neighbour
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    graph = np.zeros((n, n))
    np.put_along_axis(graph, nearest, 1.0, axis=1)
    graph = (graph + graph.T) / 2
    return graph / graph.sum(axis=1, keepdims=True)


def propagate(probabilities: np.ndarray, graph: np.ndarray, strength: float) -> np.ndarray:
    """The fixed point of F = (1 - strength) P + strength W F."""
    system = np.eye(len(graph)) - strength * graph
    return (1.0 - strength) * np.linalg.solve(system, probabilities)
