"""`SvmClassifier`: scikit-learn's RBF-kernel SVC, C and gamma chosen on validation clips.

The grid is searched on precomputed kernels: one BLAS product gives every
squared distance, each gamma one `exp` of them, each C one SVC fit, where
libsvm's own kernel rows would cost a minute per fit on the 6,373 ComParE
values. The chosen SVC keeps its precomputed kernel, so the model stores
its support vectors (the training rows it needs) and computes their kernel
against new rows the same way. Probabilities are a softmax of the
one-vs-rest decision scores at a temperature fitted on validation clips
(Platt-style, without libsvm's internal cross-validation), so their argmax
is the SVC's own decision.
"""

from __future__ import annotations

import itertools
import pickle

import numpy as np

from kser.baselines.model import ClassicClassifier

C_GRID = (0.1, 1.0, 10.0, 100.0)
# Multiples of scikit-learn's "scale" gamma, 1 / (n_features * variance).
GAMMA_FACTORS = (0.25, 1.0, 4.0)


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`(len(a), len(b))` squared Euclidean distances between rows, in float64."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    distances = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(distances, 0.0)


def uar(labels, predicted, n_classes: int) -> float:
    from kser.evaluation.metrics import confusion_matrix, unweighted_average_recall

    return unweighted_average_recall(confusion_matrix(labels, predicted, n_classes))


class SvmClassifier(ClassicClassifier):
    """RBF SVM (`sklearn.svm.SVC`, one-vs-one, balanced class weights).

        classifier = build_classifier("svm", n_classes=6, seed=42)
        classifier.fit(x_train, y_train, x_val, y_val)  # picks C and gamma

    `params` after `fit`: `C` and `gamma` (absolute), and `gamma_factor` (of
    scikit-learn's "scale").
    """

    name = "svm"
    model_file = "classifier.pkl"
    model_format = "pickle: {svc: sklearn.svm.SVC (precomputed kernel), support_rows, gamma}"

    def fit(self, x_train, y_train, x_val, y_val) -> dict:
        from sklearn.svm import SVC
        from tqdm.auto import tqdm

        y_train, y_val = np.asarray(y_train), np.asarray(y_val)
        train_distances = squared_distances(x_train, x_train)
        val_distances = squared_distances(x_val, x_train)
        scale = 1.0 / (x_train.shape[1] * max(float(np.var(x_train)), 1e-12))
        tried, best = [], None
        grid = list(itertools.product(GAMMA_FACTORS, C_GRID))
        for factor, c in tqdm(grid, desc="svm C, gamma", unit="fit", leave=False):
            gamma = factor * scale
            svc = SVC(
                kernel="precomputed",
                C=c,
                class_weight="balanced",
                decision_function_shape="ovr",
                random_state=self.seed,
            ).fit(np.exp(-gamma * train_distances), y_train)
            score = uar(y_val, svc.predict(np.exp(-gamma * val_distances)), self.n_classes)
            tried.append({"C": c, "gamma_factor": factor, "val_uar": score})
            if best is None or score > best[0]:
                best = (score, c, factor, gamma, svc)
        _, c, factor, gamma, svc = best
        self.params = {"C": c, "gamma": gamma, "gamma_factor": factor}
        self.estimator = {
            "svc": svc,
            "support_rows": np.asarray(x_train, dtype=np.float32)[svc.support_],
            "n_train": len(x_train),
            "gamma": gamma,
        }
        self.calibrate(x_val, y_val)
        return {"tried": tried, "chosen": self.params, "temperature": self.temperature}

    def scores(self, x: np.ndarray) -> np.ndarray:
        model = self.estimator
        # The SVC reads a kernel against all its training rows but uses only the support ones.
        kernel = np.zeros((len(x), model["n_train"]))
        kernel[:, model["svc"].support_] = np.exp(
            -model["gamma"] * squared_distances(x, model["support_rows"])
        )
        return model["svc"].decision_function(kernel)

    def save_model(self, path) -> None:
        with open(path, "wb") as stream:
            pickle.dump(self.estimator, stream, protocol=pickle.HIGHEST_PROTOCOL)

    def load_model(self, path) -> None:
        import sklearn.svm  # noqa: F401  (fails early, with the install hint, when missing)

        with open(path, "rb") as stream:
            self.estimator = pickle.load(stream)
