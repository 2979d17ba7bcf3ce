import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from advisor.model import OutcomeModel


def test_passes_sklearns_estimator_checks():
    check_estimator(OutcomeModel())
    check_estimator(OutcomeModel(monotone_features=(0,), cv=3))


def test_monotone_coefficient_holds_even_when_the_data_says_otherwise():
    rng = np.random.default_rng(0)
    size = rng.uniform(1, 8, 400)
    other = rng.uniform(0, 1, 400)
    y = 0.9 - 0.03 * size + 0.05 * rng.normal(size=400) + 0.1 * other  # falls with size
    free = OutcomeModel().fit(np.c_[size, other], y)
    model = OutcomeModel(monotone_features=(0,)).fit(np.c_[size, other], y)
    assert free.coef_[0] < 0 and model.coef_[0] >= 0
    grid = np.c_[np.linspace(1, 8, 50), np.full(50, 0.5)]
    point, low, high = model.predict_interval(grid)
    assert np.all(np.diff(point) >= -1e-12)
    assert np.all(low <= point) and np.all(point <= high)


def test_conformal_interval_covers_about_the_nominal_share():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 3))
    y = X @ [0.3, -0.2, 0.1] + 0.1 * rng.normal(size=600)
    model = OutcomeModel(quantiles=(0.1, 0.9)).fit(X[:400], y[:400])
    _, low, high = model.predict_interval(X[400:])
    coverage = np.mean((y[400:] >= low) & (y[400:] <= high))
    assert 0.7 <= coverage <= 0.95, coverage
    assert 0.05 < model.oof_mae_ < 0.15


def test_group_residuals_are_wider_when_groups_differ():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(6), 50)
    X = rng.normal(size=(300, 2))
    y = X[:, 0] + rng.normal(size=6)[groups] + 0.05 * rng.normal(size=300)  # a per-group offset
    by_group = OutcomeModel().fit(X, y, groups=groups)
    pooled = OutcomeModel().fit(X, y)
    assert by_group.residual_high_ - by_group.residual_low_ >= pooled.residual_high_ - pooled.residual_low_


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="quantiles"):
        OutcomeModel(quantiles=(0.9, 0.1)).fit(np.ones((10, 2)), np.ones(10))
    with pytest.raises(ValueError, match="alpha"):
        OutcomeModel(alpha=0).fit(np.ones((10, 2)), np.ones(10))
