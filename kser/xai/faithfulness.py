"""Do the maps point at what the model uses? Deletion and insertion curves.

Regions of the input (`kser.xai.segments`) are ranked by the relevance a map
gives them. Deletion replaces the most relevant regions first, in `steps`
equal steps, by the baseline (zero: the normalization mean); insertion starts
from the baseline and puts the most relevant back first. Each step's target
class probability makes a curve over the fraction of regions changed; its
area (AUC, trapezoid over [0, 1]) is low for deletion and high for insertion
when the map is faithful. A random ranking (seeded) is the reference.
Confidence intervals are percentile bootstraps over clips.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from tqdm.auto import tqdm

STEPS = 16
BOOTSTRAP_RESAMPLES = 1000
RANDOM = "random"


@dataclass
class Curves:
    """Per clip: deletion and insertion curves `(n_clips, steps + 1)` and their AUCs."""

    deletion: np.ndarray
    insertion: np.ndarray

    @property
    def fractions(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.deletion.shape[1])

    @property
    def deletion_auc(self) -> np.ndarray:
        return _auc(self.deletion)

    @property
    def insertion_auc(self) -> np.ndarray:
        return _auc(self.insertion)


def perturbation_curves(model, inputs, targets, segmentation, region_scores, steps=STEPS):
    """`Curves` of `inputs` `(n, *shape)` for `targets`, removing (inserting) regions in
    decreasing order of `region_scores` `(n, n_regions)`."""
    n_regions = segmentation.n
    counts = np.round(np.linspace(0, n_regions, steps + 1)).astype(int)
    deletion, insertion = [], []
    clips = tqdm(np.asarray(region_scores), desc="deletion/insertion", unit="clip", leave=False)
    for row, scores in enumerate(clips):
        order = np.argsort(-scores, kind="stable")
        # masks[k]: the regions changed after step k
        masks = np.stack([segmentation.mask(order[:count]) for count in counts])
        deleted = np.where(masks, 0.0, inputs[row])
        inserted = np.where(masks, inputs[row], 0.0)
        batch = np.concatenate([deleted, inserted]).astype("float32")
        probabilities = _probabilities(model, batch)[:, targets[row]]
        deletion.append(probabilities[: steps + 1])
        insertion.append(probabilities[steps + 1 :])
    return Curves(np.array(deletion), np.array(insertion))


def compare_methods(model, inputs, targets, segmentation, maps: dict, steps=STEPS, seed=0):
    """`{method: Curves}` for each method's maps `(n, *shape)`, plus `"random"`: a seeded
    random ranking of the regions per clip."""
    results = {
        method: perturbation_curves(
            model,
            inputs,
            targets,
            segmentation,
            np.stack([segmentation.region_scores(m) for m in method_maps]),
            steps,
        )  # fmt: skip
        for method, method_maps in maps.items()
    }
    rng = np.random.default_rng(seed)
    random_scores = rng.random((len(inputs), segmentation.n))
    results[RANDOM] = perturbation_curves(
        model, inputs, targets, segmentation, random_scores, steps
    )
    return results


def bootstrap_mean(values, seed=0, resamples=BOOTSTRAP_RESAMPLES, level=0.95):
    """`(mean, low, high)`: the mean of `values` and its percentile-bootstrap interval."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(values.mean()), float(low), float(high)


def summary_rows(results: dict, targets, labels, seed=0) -> list[dict]:
    """One row per method and class (and "all"): mean deletion and insertion AUC with
    95% CIs, and whether the deletion CI lies wholly below the random ranking's."""
    targets = np.asarray(targets)
    groups = {"all": np.ones(len(targets), dtype=bool)}
    groups.update({labels[c]: targets == c for c in np.unique(targets)})
    rows = []
    for group, rows_of_group in groups.items():
        random = bootstrap_mean(results[RANDOM].deletion_auc[rows_of_group], seed)
        for method, curves in results.items():
            deletion = bootstrap_mean(curves.deletion_auc[rows_of_group], seed)
            insertion = bootstrap_mean(curves.insertion_auc[rows_of_group], seed)
            rows.append(
                {
                    "method": method,
                    "class": group,
                    "clips": int(rows_of_group.sum()),
                    "deletion_auc": deletion[0],
                    "deletion_ci": [deletion[1], deletion[2]],
                    "insertion_auc": insertion[0],
                    "insertion_ci": [insertion[1], insertion[2]],
                    "below_random": bool(method != RANDOM and deletion[2] < random[1]),
                }
            )
    return rows


def _auc(curves) -> np.ndarray:
    fractions = np.linspace(0.0, 1.0, curves.shape[1])
    return np.trapezoid(curves, fractions, axis=1)


def _probabilities(model, batch) -> np.ndarray:
    logits = keras.ops.convert_to_numpy(model.predict(batch, batch_size=64, verbose=0))
    logits = logits - logits.max(axis=1, keepdims=True)
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
