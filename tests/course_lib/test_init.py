"""Initializers: shapes, seeds, and the variances their formulas promise."""
import numpy as np
import pytest

from course_lib import init

FAN_IN, FAN_OUT = 400, 300
EXPECTED_VARIANCE = {
    "glorot_uniform": 2 / (FAN_IN + FAN_OUT),
    "glorot_normal": 2 / (FAN_IN + FAN_OUT),
    "he_normal": 2 / FAN_IN,
    "he_uniform": 2 / FAN_IN,
    "normal": 0.01 ** 2,
    "uniform": 0.05 ** 2 / 3,
}


@pytest.mark.parametrize("name,variance", EXPECTED_VARIANCE.items())
def test_variance_matches_the_formula(name, variance):
    W = init.INITIALIZERS[name](FAN_IN, FAN_OUT, seed=0)
    assert W.shape == (FAN_IN, FAN_OUT) and W.dtype == np.float64
    assert abs(W.mean()) < 5 * np.sqrt(variance / W.size)
    assert W.var() == pytest.approx(variance, rel=0.02)


@pytest.mark.parametrize("name", list(EXPECTED_VARIANCE))
def test_seeded_and_generator_friendly(name):
    make = init.INITIALIZERS[name]
    np.testing.assert_array_equal(make(5, 4, seed=1), make(5, 4, seed=1))
    assert not np.array_equal(make(5, 4, seed=1), make(5, 4, seed=2))
    rng = np.random.default_rng(3)
    assert not np.array_equal(make(5, 4, seed=rng), make(5, 4, seed=rng))  # the stream advances


def test_symmetric_initializers_are_symmetric():
    assert not init.zeros(3, 2).any()
    assert np.all(init.constant(3, 2, 0.7) == 0.7)
    assert init.he_normal(3, 2, dtype=np.float32).dtype == np.float32
