"""`OutcomeModel`: a scikit-learn regressor for expected test accuracy, with an interval.

A gradient-boosted point model (monotone increasing in the training-set size column:
more data never predicts lower accuracy) plus two quantile models for the interval.
It is a plain estimator over a numeric feature matrix, so sklearn's estimator checks
apply; `advisor.calibration` builds the features from benchmark results and profiles.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

# The tables here are a few hundred rows: one OpenMP thread is fastest, and it never
# spin-waits against a benchmark using the other cores (observed: fits stalled for minutes when it did).
_ONE_THREAD = {"limits": 1, "user_api": "openmp"}


class OutcomeModel(RegressorMixin, BaseEstimator):
    """Expected outcome (e.g. test accuracy) with a [low, high] quantile interval.

    Parameters
    ----------
    monotone_feature : int or None
        Column constrained to an increasing effect (the log training-set size); ignored
        when the data has fewer columns.
    quantiles : tuple of two floats
        Lower and upper quantiles of the interval.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, random_state
        Passed to each `HistGradientBoostingRegressor`.
    """

    def __init__(self, monotone_feature: int | None = 0, quantiles: tuple[float, float] = (0.1, 0.9),
                 max_iter: int = 200, learning_rate: float = 0.1, max_leaf_nodes: int = 15,
                 min_samples_leaf: int = 5, random_state: int | None = 0):
        self.monotone_feature = monotone_feature
        self.quantiles = quantiles
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def _booster(self, n_features: int, **kw: object) -> HistGradientBoostingRegressor:
        cst = None
        if self.monotone_feature is not None and 0 <= self.monotone_feature < n_features:
            cst = [0] * n_features
            cst[self.monotone_feature] = 1
        return HistGradientBoostingRegressor(max_iter=self.max_iter, learning_rate=self.learning_rate,
                                             max_leaf_nodes=self.max_leaf_nodes,
                                             min_samples_leaf=self.min_samples_leaf, monotonic_cst=cst,
                                             random_state=self.random_state, **kw)

    def fit(self, X, y) -> "OutcomeModel":  # noqa: N803 - sklearn convention
        X, y = validate_data(self, X, y, y_numeric=True)
        lo, hi = self.quantiles
        if not 0.0 < lo < hi < 1.0:
            raise ValueError(f"quantiles={self.quantiles!r} (allowed: 0 < low < high < 1)")
        n = X.shape[1]
        with threadpool_limits(**_ONE_THREAD):
            self.point_ = self._booster(n).fit(X, y)
            self.low_ = self._booster(n, loss="quantile", quantile=lo).fit(X, y)
            self.high_ = self._booster(n, loss="quantile", quantile=hi).fit(X, y)
        self.n_iter_ = self.point_.n_iter_  # boosting iterations of the point model (max_iter caps it)
        return self

    def predict(self, X) -> np.ndarray:  # noqa: N803
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        with threadpool_limits(**_ONE_THREAD):
            return self.point_.predict(X)

    def predict_interval(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: N803
        """(point, low, high); the interval always contains the point."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        with threadpool_limits(**_ONE_THREAD):
            point = self.point_.predict(X)
            low = np.minimum(self.low_.predict(X), point)
            high = np.maximum(self.high_.predict(X), point)
        return point, low, high
