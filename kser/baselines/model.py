"""`ClassicClassifier`: a scikit-learn or xgboost classifier that stands in a bundle's Keras model.

A bundle calls `model.predict(normalized, batch_size=..., verbose=0)` for
logits; a classic classifier answers with its log-probabilities (a softmax
leaves them unchanged), so prediction, per-speaker normalization, speaker
adaptation (on the input vectors) and scoring are the bundle's own. Saved as

    bundle/classifier.json    the classifier's name, parameters, temperature,
                              classes, and the file and format of its model
    bundle/<model file>       xgboost's JSON model, or scikit-learn's pickle

instead of model.keras.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kser.errors import KserBundleError, KserModelError
from kser.paths import atomic_write_json

CLASSIFIER_FILE = "classifier.json"
INSTALL_HINT = "pip install 'kser[baselines]'"


class ClassicClassifier:
    """Base class: subclasses set `name`, `model_file` and `model_format` and implement
    `fit`, `scores`, `save_model` and `load_model`.

    `scores(x)` are the classifier's raw class scores `(n, n_classes)`;
    probabilities are `softmax(scores / temperature)`, the temperature fitted
    on validation clips by NLL (`kser.evaluation.calibration.fit_temperature`).

    Args:
        n_classes: number of classes (labels 0 .. n_classes - 1).
        seed: seeds every random choice of the classifier.
        params: the classifier's settings (those chosen on validation after `fit`).
    """

    name = ""
    model_file = ""
    model_format = ""

    def __init__(self, n_classes: int, *, seed: int = 42, params: dict | None = None):
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
            raise KserModelError(
                f"{self.name}: n_classes must be a whole number of at least 2. "
                f"Received: n_classes={n_classes!r}"
            )
        self.n_classes = n_classes
        self.seed = seed
        self.params = dict(params or {})
        self.temperature = 1.0
        self.estimator = None

    def fit(self, x_train, y_train, x_val, y_val) -> dict:
        """Train on `(n, n_features)` rows, choosing settings on the validation rows;
        returns what was tried and chosen (JSON-ready)."""
        raise NotImplementedError

    def scores(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def save_model(self, path: Path) -> None:
        raise NotImplementedError

    def load_model(self, path: Path) -> None:
        raise NotImplementedError

    def calibrate(self, x_val, y_val) -> None:
        """Fit the softmax temperature of the scores on validation rows."""
        from kser.evaluation.calibration import fit_temperature

        self.temperature = fit_temperature(self.scores(x_val), y_val)

    def predict(self, x, batch_size=None, verbose=0) -> np.ndarray:
        """Log-probabilities `(n, n_classes)` of features `(n, n_bins, n_frames)` (the
        call a bundle makes of a Keras model; `batch_size` and `verbose` are ignored)."""
        from kser.training.trainer import log_softmax

        return log_softmax(self.scores(flatten(x)) / self.temperature)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "n_classes": self.n_classes,
            "seed": self.seed,
            "params": self.params,
            "temperature": self.temperature,
            "model_file": self.model_file,
            "model_format": self.model_format,
        }

    def save(self, directory) -> None:
        """Write the model file and `classifier.json` into `directory` (a bundle's staging
        directory: the bundle as a whole is published atomically)."""
        directory = Path(directory)
        self.save_model(directory / self.model_file)
        atomic_write_json(directory / CLASSIFIER_FILE, self.describe())


def flatten(x) -> np.ndarray:
    """`(n, n_bins, 1)` features as `(n, n_bins)` float64 rows."""
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1)


def classifier_types() -> dict[str, type[ClassicClassifier]]:
    from kser.baselines.svm import SvmClassifier
    from kser.baselines.xgboost import XgboostClassifier

    return {kind.name: kind for kind in (SvmClassifier, XgboostClassifier)}


def build_classifier(name: str, n_classes: int, *, seed: int = 42, **params) -> ClassicClassifier:
    """The classic classifier called `name` (one of `kser.baselines.CLASSIC_MODELS`)."""
    types = classifier_types()
    if name not in types:
        raise KserModelError(
            f"unknown classic model; expected one of {tuple(types)}. Received: {name!r}"
        )
    return types[name](n_classes, seed=seed, params=params)


def is_classic_model(model) -> bool:
    return isinstance(model, ClassicClassifier)


def is_classic_bundle(directory) -> bool:
    """Whether the bundle at `directory` holds a classic classifier (not a Keras model)."""
    return (Path(directory) / CLASSIFIER_FILE).is_file()


def classic_model_file(directory) -> str:
    """The file name of the classic bundle's model, from its `classifier.json`."""
    return _read_description(Path(directory))["model_file"]


def load_classifier(directory) -> ClassicClassifier:
    """The classic classifier saved in the bundle at `directory`."""
    directory = Path(directory)
    described = _read_description(directory)
    try:
        types = classifier_types()
    except ImportError as error:
        raise KserBundleError(
            f"{directory}: a {described['name']} bundle needs {error.name}: {INSTALL_HINT}"
        ) from None
    if described["name"] not in types:
        raise KserBundleError(
            f"{directory / CLASSIFIER_FILE}: unknown classifier {described['name']!r}; "
            f"expected one of {tuple(types)}"
        )
    classifier = types[described["name"]](
        int(described["n_classes"]), seed=described.get("seed", 42), params=described["params"]
    )
    if described["model_file"] != classifier.model_file:
        raise KserBundleError(
            f"{directory / CLASSIFIER_FILE}: a {classifier.name} model is in "
            f"{classifier.model_file}, not {described['model_file']!r}"
        )
    classifier.temperature = float(described.get("temperature", 1.0))
    try:
        classifier.load_model(directory / classifier.model_file)
    except Exception as error:  # joblib and xgboost raise many types for a damaged file.
        raise KserBundleError(
            f"{directory / classifier.model_file}: cannot load the {classifier.name} model "
            f"({classifier.model_format}): {error}"
        ) from None
    return classifier


def require_keras_model(bundle, task: str) -> None:
    """Raise `KserBundleError` when `bundle` holds a classic classifier: `task` needs Keras."""
    if is_classic_model(bundle.model):
        raise KserBundleError(
            f"{bundle.directory}: {task} needs a Keras model; this bundle holds a classic "
            f"{bundle.model.name} classifier (kser.baselines), which has no gradients or graph"
        )


def _read_description(directory: Path) -> dict:
    path = directory / CLASSIFIER_FILE
    try:
        described = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KserBundleError(f"{path}: cannot read the classifier description ({error})") from None
    missing = [key for key in ("name", "n_classes", "params", "model_file") if key not in described]
    if missing:
        raise KserBundleError(f"{path}: incomplete classifier description, missing {missing}")
    return described
