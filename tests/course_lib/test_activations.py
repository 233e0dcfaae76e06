"""Activations: values, derivatives (by finite differences), stability on extreme inputs."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course_lib import activations as act
from course_lib.gradcheck import numerical_gradient, relative_error

SMOOTH = ["sigmoid", "tanh", "softplus"]
PIECEWISE = ["relu", "leaky_relu", "elu"]  # smooth away from 0

# Finite inputs spanning the range the library promises to handle without warnings.
extreme = arrays(np.float64, st.integers(1, 50),
                 elements=st.floats(-1e3, 1e3, allow_nan=False))


def _away_from_kink(rng, shape):
    x = rng.standard_normal(shape) * 3
    return np.where(np.abs(x) < 1e-3, 0.5, x)


@pytest.mark.parametrize("name", SMOOTH + PIECEWISE)
def test_derivative_matches_finite_differences(name):
    g, g_prime = act.ELEMENTWISE[name]
    x = _away_from_kink(np.random.default_rng(0), (7, 5))
    # g acts elementwise, so each entry's centered difference is independent of the others.
    h, tol = 1e-5, 1e-7
    numeric = (g(x + h) - g(x - h)) / (2 * h)
    # Where g saturates, g' drops below the rounding noise eps |g| / h of the difference
    # itself; the floor below is the one gradcheck.check_gradient uses.
    noise_floor = 8 * np.finfo(float).eps * np.maximum(1.0, np.abs(g(x))) / h / tol
    assert relative_error(g_prime(x), numeric, noise_floor).max() < tol


@pytest.mark.parametrize("name", list(act.ELEMENTWISE))
@given(x=extreme)
@settings(max_examples=40, deadline=None)
def test_stable_and_finite_on_extreme_inputs(name, x):
    g, g_prime = act.ELEMENTWISE[name]
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # any overflow/invalid would raise here
        y, dy = g(x), g_prime(x)
    assert y.shape == x.shape and dy.shape == x.shape
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dy))


def test_known_values():
    x = np.array([-1000.0, -2.0, 0.0, 2.0, 1000.0])
    np.testing.assert_allclose(act.sigmoid(x), [0, 1 / (1 + np.e**2), 0.5, 1 / (1 + np.e**-2), 1])
    np.testing.assert_allclose(act.relu(x), [0, 0, 0, 2, 1000])
    np.testing.assert_allclose(act.leaky_relu(x, 0.1), [-100, -0.2, 0, 2, 1000])
    np.testing.assert_allclose(act.elu(x), [-1, np.expm1(-2), 0, 2, 1000])
    np.testing.assert_allclose(act.softplus(x), [0, np.log1p(np.exp(-2)), np.log(2), 2 + np.log1p(np.exp(-2)), 1000])
    np.testing.assert_array_equal(act.step(x), [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(act.sign(x), [-1, -1, 1, 1, 1])
    assert act.sigmoid_derivative(np.array(0.0)) == 0.25
    assert act.tanh_derivative(np.array(0.0)) == 1.0


def test_sigmoid_and_tanh_saturate():
    # The vanishing-gradient story: derivatives collapse far from zero.
    assert act.sigmoid_derivative(np.array(10.0)) < 5e-5
    assert act.tanh_derivative(np.array(10.0)) < 1e-8
    assert act.relu_derivative(np.array(10.0)) == 1.0


@given(x=arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 8)),
                elements=st.floats(-1e3, 1e3, allow_nan=False)))
@settings(max_examples=60, deadline=None)
def test_softmax_rows_are_probability_vectors(x):
    p = act.softmax(x)
    assert p.shape == x.shape
    assert np.all(p >= 0) and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    # Softmax is invariant to adding a constant to each row.
    np.testing.assert_allclose(act.softmax(x + 123.0), p, atol=1e-12)


def test_softmax_backward_is_the_jacobian_product():
    rng = np.random.default_rng(1)
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    numeric = numerical_gradient(lambda z: np.sum(act.softmax(z) * dout), x)
    analytic = act.softmax_backward(dout, act.softmax(x))
    assert relative_error(analytic, numeric, 1e-12).max() < 1e-7


def test_maxout_picks_group_maxima_and_routes_gradient():
    z = np.array([[1.0, 5.0, -2.0, 0.5, 0.4, 3.0]])
    out, argmax = act.maxout(z, pieces=3)
    np.testing.assert_array_equal(out, [[5.0, 3.0]])
    dz = act.maxout_backward(np.array([[10.0, 20.0]]), argmax, pieces=3)
    np.testing.assert_array_equal(dz, [[0, 10, 0, 0, 0, 20]])


def test_maxout_rejects_indivisible_width():
    with pytest.raises(ValueError, match="divisible by 4"):
        act.maxout(np.zeros((2, 6)), pieces=4)


def test_non_numeric_input_is_a_clear_type_error():
    with pytest.raises(TypeError, match="x must hold real numbers"):
        act.relu(np.array(["a", "b"]))
