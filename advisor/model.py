"""`OutcomeModel`: a scikit-learn regressor for an expected outcome, with an interval.

Why linear and not boosted trees: the calibration generalises *across tasks*, and with
eight tasks each task is one unique point in task-feature space. Trees assign a new
task to its nearest leaf; measured leave-one-task-out on the MiniLM grid (154 runs) a
monotone `HistGradientBoostingRegressor` erred by 24 accuracy points, a ridge model on
the same features by 12, and a ridge model on the anchored features that
`advisor.calibration` builds (measured prompting / probe baselines) by 4.

The model is a ridge regression whose coefficients on `monotone_features` are
constrained to be >= 0 (solved as a bounded least-squares problem), so an outcome never
falls when, e.g., the log training-set size rises. The interval comes from conformal
residuals: out-of-fold residuals (leave-one-group-out when `groups` are given to `fit`,
else K-fold), whose quantiles are added to the point prediction.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import lsq_linear
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import KFold, LeaveOneGroupOut
from sklearn.utils.validation import check_is_fitted, validate_data


class OutcomeModel(RegressorMixin, BaseEstimator):
    """Expected outcome (e.g. test accuracy) with a [low, high] conformal interval.

    Parameters
    ----------
    alpha : float
        Ridge penalty on the standardised coefficients (the intercept is not penalised).
    decreasing_features : tuple of int
        Columns whose coefficient must be <= 0 (e.g. prompt engineering's extra data slope, so that a trained
        option's slope is never below prompting's).
    monotone_features : tuple of int
        Columns whose coefficient must be >= 0 (increasing effect); out-of-range indices
        are ignored, so the same model works on any feature matrix.
    quantiles : tuple of two floats
        Lower and upper quantiles of the out-of-fold residuals that make the interval.
    cv : int
        Folds for the residuals when `fit` gets no `groups`.
    conformal : bool
        Compute the out-of-fold residuals (one refit per fold). Model selection inside training folds only needs
        the point predictions, so it switches them off (the interval then comes from in-sample residuals).
    """

    def __init__(self, alpha: float = 0.1, monotone_features: tuple[int, ...] = (),
                 quantiles: tuple[float, float] = (0.1, 0.9), cv: int = 5, conformal: bool = True,
                 decreasing_features: tuple[int, ...] = ()):
        self.alpha = alpha
        self.monotone_features = monotone_features
        self.decreasing_features = decreasing_features
        self.quantiles = quantiles
        self.cv = cv
        self.conformal = conformal

    def _solve(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale == 0] = 1.0
        Z = (X - mean) / scale
        n, p = Z.shape
        # Ridge as least squares on augmented rows; the intercept column gets no penalty row.
        A = np.vstack([np.c_[Z, np.ones(n)], np.c_[np.sqrt(self.alpha) * np.eye(p), np.zeros(p)]])
        b = np.r_[y, np.zeros(p)]
        lower = np.full(p + 1, -np.inf)
        upper = np.full(p + 1, np.inf)
        for j in self.monotone_features:
            if 0 <= j < p:
                lower[j] = 0.0
        for j in self.decreasing_features:
            if 0 <= j < p:
                upper[j] = 0.0
        sol = lsq_linear(A, b, bounds=(lower, upper), method="bvls" if p < 200 else "trf")
        return sol.x[:p], float(sol.x[p]), mean, scale

    @staticmethod
    def _apply(X: np.ndarray, coef: np.ndarray, intercept: float, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
        return ((X - mean) / scale) @ coef + intercept

    def fit(self, X, y, groups=None) -> "OutcomeModel":  # noqa: N803 - sklearn convention
        X, y = validate_data(self, X, y, y_numeric=True)
        lo, hi = self.quantiles
        if not 0.0 < lo < hi < 1.0:
            raise ValueError(f"quantiles={self.quantiles!r} (allowed: 0 < low < high < 1)")
        if not self.alpha > 0:
            raise ValueError(f"alpha={self.alpha!r} (allowed: > 0)")
        self.coef_, self.intercept_, self.mean_, self.scale_ = self._solve(X, y)
        residuals = []
        if not self.conformal:
            splits = iter(())
        elif groups is not None and len(np.unique(groups)) >= 2:
            splits = LeaveOneGroupOut().split(X, y, groups)
        elif len(y) >= 2 * max(2, self.cv):
            splits = KFold(n_splits=max(2, self.cv), shuffle=True, random_state=0).split(X)
        else:
            splits = iter(())
        # Residuals kept in row order, so callers can split them by any column (e.g. per option).
        res = y - self._apply(X, self.coef_, self.intercept_, self.mean_, self.scale_)
        for train, test in splits:
            coef, icpt, mean, scale = self._solve(X[train], y[train])
            res[test] = y[test] - self._apply(X[test], coef, icpt, mean, scale)
            residuals.append(test)
        self.residual_low_, self.residual_high_ = (float(v) for v in np.quantile(res, [lo, hi]))
        self.oof_mae_ = float(np.mean(np.abs(res)))  # out-of-fold mean absolute error (same units as y)
        self.residuals_ = np.asarray(res, dtype=float)
        return self

    def to_json(self) -> dict:
        """Plain data for the served artifact (`advisor.features.linear_predict` applies it with numpy alone)."""
        check_is_fitted(self)
        return {"mean": [float(v) for v in self.mean_], "scale": [float(v) for v in self.scale_],
                "coef": [float(v) for v in self.coef_], "intercept": float(self.intercept_),
                "residual_low": float(self.residual_low_), "residual_high": float(self.residual_high_),
                "oof_mae": float(self.oof_mae_), "alpha": float(self.alpha), "quantiles": list(self.quantiles)}

    def predict(self, X) -> np.ndarray:  # noqa: N803
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self._apply(X, self.coef_, self.intercept_, self.mean_, self.scale_)

    def predict_interval(self, X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: N803
        """(point, low, high); the interval always contains the point."""
        point = self.predict(X)
        return point, point + min(0.0, self.residual_low_), point + max(0.0, self.residual_high_)
