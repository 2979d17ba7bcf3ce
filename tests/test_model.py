import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from advisor.model import OutcomeModel


def test_passes_sklearns_estimator_checks():
    check_estimator(OutcomeModel(max_iter=20))


def test_monotone_in_the_size_column_and_intervals_contain_the_point():
    rng = np.random.default_rng(0)
    size = rng.uniform(1, 8, 400)
    other = rng.uniform(0, 1, 400)
    y = 0.9 - 0.5 * np.exp(-size / 2) + 0.05 * rng.normal(size=400) + 0.1 * other
    model = OutcomeModel().fit(np.c_[size, other], y)
    grid = np.c_[np.linspace(1, 8, 50), np.full(50, 0.5)]
    point, low, high = model.predict_interval(grid)
    assert np.all(np.diff(point) >= -1e-12)
    assert np.all(low <= point) and np.all(point <= high)
    assert 0.5 < np.mean((y >= model.predict_interval(np.c_[size, other])[1]) &
                         (y <= model.predict_interval(np.c_[size, other])[2]))


def test_bad_quantiles_are_rejected():
    with pytest.raises(ValueError, match="quantiles"):
        OutcomeModel(quantiles=(0.9, 0.1)).fit(np.ones((10, 2)), np.ones(10))
