"""Classic SER baselines: scikit-learn's RBF SVM and XGBoost on utterance functionals.

    kser train --protocol loso --feature egemaps --model svm
    kser cv --feature compare --model xgboost

The anchors every speech-emotion result is compared with (openSMILE
eGeMAPS/ComParE functionals + SVM/XGBoost, `kser.features.opensmile_sets`),
trained on the same split, normalization and speaker priors as kser's Keras
models and saved as ordinary bundles: `kser predict`, `kser evaluate` and
`kser report` use them like any other; the Keras-only commands (attack,
explain, export) refuse them (`require_keras_model`). Needs
`pip install 'kser[baselines]'`.

Names are imported on first use: `CLASSIC_MODELS` loads neither scikit-learn
nor xgboost.
"""

from kser.lazy import lazy_attributes

# The `--model` names of the classic classifiers (checked by `ExperimentConfig`).
CLASSIC_MODELS = ("svm", "xgboost")

_EXPORTS = {
    "ClassicClassifier": "model",
    "is_classic_model": "model",
    "require_keras_model": "model",
    "build_classifier": "model",
    "load_classifier": "model",
    "train_classic_split": "training",
}

__all__ = sorted(["CLASSIC_MODELS", *_EXPORTS])

__getattr__ = lazy_attributes(__name__, _EXPORTS)
