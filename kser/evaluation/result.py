"""`evaluate`: score a model's class probabilities against the true labels.

See `kser.evaluation.metrics` for the conventions; in short: UAR averages
recall over the classes present in the test set (an absent class has no
recall, is left out, and is listed in `absent_classes`); a present class never
predicted has recall 0; precision of a class never predicted is 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kser.errors import KserEvaluationError
from kser.evaluation import calibration, metrics
from kser.evaluation.confidence import bootstrap_intervals
from kser.evaluation.tables import format_text_table, summary_tables

CI_LEVEL = 0.95
CONVENTIONS = (
    "Macro averages (UAR, macro precision, macro F1) are over the classes present in the "
    "test set; an absent class has undefined recall (null) and is excluded. A present class "
    "never predicted has recall 0. Precision of a class never predicted is 0. Predictions "
    "are the argmax of the probabilities (ties go to the first class). CIs: percentile "
    "bootstrap over clips."
)


@dataclass(frozen=True, eq=False)
class EvaluationResult:
    """Every metric of one test set, plus the per-clip predictions behind them.

    Arrays indexed by class follow `labels`. `recall` and `f1` are NaN for the
    classes in `absent_classes`. `uar_ci` and `accuracy_ci` are None when
    `n_bootstrap` is 0. Group keys (speakers, genders) are strings; a missing
    value is the group "unknown".
    """

    labels: tuple[str, ...]
    y_true: np.ndarray
    y_pred: np.ndarray
    y_prob: np.ndarray
    clip_ids: tuple[str, ...] | None
    speakers: np.ndarray | None
    genders: np.ndarray | None
    confusion: np.ndarray
    accuracy: float
    uar: float
    macro_precision: float
    macro_f1: float
    weighted_f1: float
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    absent_classes: tuple[str, ...]
    never_predicted: tuple[str, ...]
    most_confused: list[dict]
    uar_ci: tuple[float, float] | None
    accuracy_ci: tuple[float, float] | None
    n_bootstrap: int
    seed: int
    per_speaker_uar: dict[str, float]
    per_speaker_n: dict[str, int]
    per_gender_uar: dict[str, float]
    per_gender_n: dict[str, int]
    ece: float
    reliability: list[dict]

    @property
    def n(self) -> int:
        return len(self.y_true)

    @property
    def normalized_confusion(self) -> np.ndarray:
        """Confusion matrix divided by row (true class) totals; NaN rows for absent classes."""
        return metrics.row_normalized(self.confusion)

    @property
    def per_class(self) -> dict[str, dict]:
        """precision, recall, f1, support and predicted count per class (None = undefined)."""
        predicted = metrics.predicted_counts(self.confusion)
        return {
            label: {
                "precision": float(self.precision[k]),
                "recall": _float_or_none(self.recall[k]),
                "f1": _float_or_none(self.f1[k]),
                "support": int(self.support[k]),
                "predicted": int(predicted[k]),
            }
            for k, label in enumerate(self.labels)
        }

    def to_dict(self) -> dict:
        """Everything but the per-clip arrays, as JSON-serialisable values (NaN -> None)."""
        return {
            "n": self.n,
            "labels": list(self.labels),
            "uar": self.uar,
            "uar_ci": _list_or_none(self.uar_ci),
            "accuracy": self.accuracy,
            "accuracy_ci": _list_or_none(self.accuracy_ci),
            "macro_precision": self.macro_precision,
            "macro_f1": self.macro_f1,
            "weighted_f1": self.weighted_f1,
            "confidence_interval": {
                "method": "percentile bootstrap over clips",
                "level": CI_LEVEL,
                "n_bootstrap": self.n_bootstrap,
                "seed": self.seed,
            },
            "per_class": self.per_class,
            "absent_classes": list(self.absent_classes),
            "never_predicted": list(self.never_predicted),
            "confusion_matrix": self.confusion.tolist(),
            "confusion_matrix_normalized": [
                [_float_or_none(v) for v in row] for row in self.normalized_confusion
            ],
            "most_confused": self.most_confused,
            "per_speaker_uar": self.per_speaker_uar,
            "per_speaker_n": self.per_speaker_n,
            "per_gender_uar": self.per_gender_uar,
            "per_gender_n": self.per_gender_n,
            "ece": self.ece,
            "calibration_bins": self.reliability,
            "conventions": CONVENTIONS,
        }

    def format_text(self, *, top_confusions: int = 5) -> str:
        """The terminal report: headline metrics with CIs, per-class table, top confusions."""
        tables = summary_tables(self, top_confusions=top_confusions)
        return "\n\n".join(format_text_table(table) for table in tables)


def evaluate(
    y_true,
    y_prob,
    labels,
    *,
    speakers=None,
    genders=None,
    clip_ids=None,
    seed: int = 0,
    n_bootstrap: int = 1000,
    calibration_bins: int = 15,
) -> EvaluationResult:
    """Score class probabilities against true labels.

    Args:
        y_true: true classes, shape `(n,)`: indices into `labels`, or label names.
        y_prob: class probabilities, shape `(n, len(labels))`, rows summing to 1.
            The prediction is the argmax (ties go to the first class).
        labels: class names, in the model's output order.
        speakers, genders: optional per-clip groups, shape `(n,)`, for per-group UAR.
        clip_ids: optional per-clip ids (paths), kept for predictions.csv and
            for pairing runs in significance tests.
        seed: seed of the bootstrap.
        n_bootstrap: bootstrap resamples for the 95% CIs; 0 skips the CIs.
        calibration_bins: equal-width confidence bins for ECE and the reliability diagram.

    Raises:
        KserEvaluationError: on an empty test set, inputs of different lengths,
            labels the model does not know, or probabilities that are not probabilities.
    """
    labels = _check_labels(labels)
    y_true = _class_indices(y_true, labels)
    y_prob = _check_probabilities(y_prob, len(y_true), labels)
    n = len(y_true)
    speakers = _group_names(speakers, n, "speakers")
    genders = _group_names(genders, n, "genders")
    if clip_ids is not None:
        clip_ids = tuple(str(clip_id) for clip_id in clip_ids)
        _check_length(clip_ids, n, "clip_ids")
    if not isinstance(n_bootstrap, int) or n_bootstrap < 0:
        raise KserEvaluationError(
            f"n_bootstrap must be an integer >= 0. Received: n_bootstrap={n_bootstrap!r}"
        )
    if not isinstance(calibration_bins, int) or calibration_bins < 1:
        raise KserEvaluationError(
            "calibration_bins must be an integer >= 1. "
            f"Received: calibration_bins={calibration_bins!r}"
        )

    n_classes = len(labels)
    y_pred = y_prob.argmax(axis=1)
    confusion = metrics.confusion_matrix(y_true, y_pred, n_classes)
    present = metrics.present_classes(confusion)
    uar_ci = accuracy_ci = None
    if n_bootstrap:
        uar_ci, accuracy_ci = bootstrap_intervals(
            y_true, y_pred, n_classes, n_resamples=n_bootstrap, seed=seed, level=CI_LEVEL
        )
    per_speaker_uar, per_speaker_n = (
        metrics.uar_by_group(y_true, y_pred, speakers, n_classes)
        if speakers is not None
        else ({}, {})
    )
    per_gender_uar, per_gender_n = (
        metrics.uar_by_group(y_true, y_pred, genders, n_classes)
        if genders is not None
        else ({}, {})
    )
    bins = calibration.reliability_bins(y_true, y_prob, calibration_bins)
    return EvaluationResult(
        labels=labels,
        y_true=y_true,
        y_pred=y_pred,
        y_prob=y_prob,
        clip_ids=clip_ids,
        speakers=speakers,
        genders=genders,
        confusion=confusion,
        accuracy=metrics.accuracy(confusion),
        uar=metrics.unweighted_average_recall(confusion),
        macro_precision=metrics.macro_precision(confusion),
        macro_f1=metrics.macro_f1(confusion),
        weighted_f1=metrics.weighted_f1(confusion),
        precision=metrics.precision_per_class(confusion),
        recall=metrics.recall_per_class(confusion),
        f1=metrics.f1_per_class(confusion),
        support=metrics.support(confusion),
        absent_classes=tuple(label for label, p in zip(labels, present, strict=True) if not p),
        never_predicted=tuple(
            label
            for label, count in zip(labels, metrics.predicted_counts(confusion), strict=True)
            if count == 0
        ),
        most_confused=metrics.most_confused_pairs(confusion, labels),
        uar_ci=uar_ci,
        accuracy_ci=accuracy_ci,
        n_bootstrap=n_bootstrap,
        seed=seed,
        per_speaker_uar=per_speaker_uar,
        per_speaker_n=per_speaker_n,
        per_gender_uar=per_gender_uar,
        per_gender_n=per_gender_n,
        ece=calibration.expected_calibration_error(bins),
        reliability=bins,
    )


def _check_labels(labels) -> tuple[str, ...]:
    labels = tuple(str(label) for label in labels)
    if len(labels) < 2:
        raise KserEvaluationError(f"labels must name at least 2 classes. Received: labels={labels}")
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise KserEvaluationError(f"labels must be unique; repeated: {duplicates}")
    return labels


def _class_indices(y_true, labels) -> np.ndarray:
    """y_true as int class indices, from indices or label names."""
    y_true = np.asarray(y_true)
    if y_true.ndim != 1:
        raise KserEvaluationError(f"y_true must be 1-D. Received: y_true.shape={y_true.shape}")
    if y_true.dtype.kind in "OUS":
        names = [str(value) for value in y_true]
        unknown = sorted(set(names) - set(labels))
        if unknown:
            raise KserEvaluationError(
                f"y_true contains labels the model does not know: {unknown}; "
                f"the model's labels are {list(labels)}"
            )
        index = {label: k for k, label in enumerate(labels)}
        return np.array([index[name] for name in names], dtype=np.int64)
    if y_true.size and (y_true.dtype.kind not in "iuf" or np.any(y_true != np.round(y_true))):
        raise KserEvaluationError(
            f"y_true must hold class indices or label names. Received: dtype {y_true.dtype}"
        )
    y_true = y_true.astype(np.int64)
    unknown = sorted({int(v) for v in y_true if not 0 <= v < len(labels)})
    if unknown:
        raise KserEvaluationError(
            f"y_true contains class indices the model does not know: {unknown}; "
            f"valid indices are 0..{len(labels) - 1} for labels {list(labels)}"
        )
    return y_true


def _check_probabilities(y_prob, n: int, labels) -> np.ndarray:
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_prob.ndim:
        _check_length(y_prob, n, "y_prob")
    if n == 0:
        raise KserEvaluationError("the test set is empty: y_true and y_prob have no rows")
    if y_prob.ndim != 2 or y_prob.shape[1] != len(labels):
        raise KserEvaluationError(
            f"y_prob must have shape (n, {len(labels)}), one column per label in {list(labels)}. "
            f"Received: y_prob.shape={y_prob.shape}"
        )
    if not np.all(np.isfinite(y_prob)) or np.any(y_prob < 0):
        raise KserEvaluationError(
            "y_prob must be finite and non-negative (probabilities, not logits)"
        )
    row_sums = y_prob.sum(axis=1)
    if not np.allclose(row_sums, 1.0, atol=1e-3):
        worst = int(np.argmax(np.abs(row_sums - 1.0)))
        raise KserEvaluationError(
            f"y_prob rows must sum to 1 (probabilities, not logits); row {worst} sums to "
            f"{row_sums[worst]:.6g}"
        )
    return y_prob


def _check_length(values, n: int, name: str) -> None:
    if len(values) != n:
        raise KserEvaluationError(
            f"{name} has {len(values)} entries but y_true has {n}; "
            "they must describe the same clips"
        )


def _group_names(values, n: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    values = list(values)
    _check_length(values, n, name)
    return np.array(["unknown" if _is_missing(value) else str(value) for value in values])


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _float_or_none(value) -> float | None:
    return None if np.isnan(value) else float(value)


def _list_or_none(interval) -> list[float] | None:
    return None if interval is None else list(interval)
