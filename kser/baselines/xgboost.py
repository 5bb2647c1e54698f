"""`XgboostClassifier`: gradient-boosted trees (xgboost), stopped early on validation clips.

Trees split on single values, so they need no kernel width and ignore the
scale of each functional; with thousands of values (ComParE) each tree
samples a fraction of them (`colsample_bytree`), which keeps it fast and
the ensemble diverse. Probabilities are a softmax of the trees' margins at
a temperature fitted on the validation clips.
"""

from __future__ import annotations

import numpy as np

from kser.baselines.model import ClassicClassifier

DEFAULT_PARAMS = {
    "n_estimators": 300,
    "learning_rate": 0.1,
    "max_depth": 4,
    "subsample": 0.8,
    "colsample_bytree": 0.3,
    "max_bin": 64,
    "early_stopping_rounds": 20,
}
N_JOBS = 2


class XgboostClassifier(ClassicClassifier):
    """`xgboost.XGBClassifier` (hist trees, multi-class softmax), seeded, `n_jobs=2`.

        classifier = build_classifier("xgboost", n_classes=6, seed=42, max_depth=6)

    `params` override `DEFAULT_PARAMS`; after `fit` they also hold the
    `best_iteration` early stopping kept (the validation log-loss's minimum).
    """

    name = "xgboost"
    model_file = "classifier.xgb.json"
    model_format = "xgboost JSON (XGBClassifier.save_model)"

    def __init__(self, n_classes: int, *, seed: int = 42, params: dict | None = None):
        super().__init__(n_classes, seed=seed, params={**DEFAULT_PARAMS, **(params or {})})

    def _estimator(self):
        from xgboost import XGBClassifier

        settings = {key: value for key, value in self.params.items() if key != "best_iteration"}
        return XGBClassifier(
            **settings,
            objective="multi:softprob",
            num_class=self.n_classes,
            tree_method="hist",
            eval_metric="mlogloss",
            n_jobs=N_JOBS,
            random_state=self.seed,
        )

    def fit(self, x_train, y_train, x_val, y_val) -> dict:
        self.estimator = self._estimator()
        self.estimator.fit(
            np.asarray(x_train, dtype=np.float32),
            np.asarray(y_train),
            eval_set=[(np.asarray(x_val, dtype=np.float32), np.asarray(y_val))],
            verbose=False,
        )
        self.params["best_iteration"] = int(self.estimator.best_iteration)
        self.calibrate(x_val, y_val)
        curve = self.estimator.evals_result()["validation_0"]["mlogloss"]
        return {
            "chosen": self.params,
            "val_mlogloss": [round(value, 5) for value in curve],
            "temperature": self.temperature,
        }

    def scores(self, x: np.ndarray) -> np.ndarray:
        # Margins of the trees up to the best iteration (xgboost's default after early stopping).
        return self.estimator.predict(np.asarray(x, dtype=np.float32), output_margin=True)

    def save_model(self, path) -> None:
        self.estimator.save_model(str(path))

    def load_model(self, path) -> None:
        self.estimator = self._estimator()
        self.estimator.load_model(str(path))
