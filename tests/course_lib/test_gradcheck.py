"""The gradient checker must be trustworthy: it passes correct gradients (including exact
zeros), fails wrong ones however they are wrong, and says where."""
import numpy as np
import pytest

from course_lib import gradcheck
from course_lib.gradcheck import check_gradient, numerical_gradient, relative_error

rng = np.random.default_rng(0)
A = rng.standard_normal((6, 6))
A = A @ A.T
x0 = rng.standard_normal((6,))


def quadratic(x):
    return 0.5 * x @ A @ x + np.sin(x).sum()


def quadratic_grad(x):
    return A @ x + np.cos(x)


def test_numerical_gradient_matches_and_restores_its_input():
    x = x0.copy()
    numeric = numerical_gradient(quadratic, x)
    np.testing.assert_array_equal(x, x0)
    assert relative_error(quadratic_grad(x), numeric).max() < 1e-8


def test_correct_gradient_passes():
    report = check_gradient(quadratic, x0.copy(), quadratic_grad(x0))
    assert report.passed and report.max_rel_error < 1e-8


@pytest.mark.parametrize("bug", [
    lambda g: 1.001 * g,            # a slightly wrong scale (e.g. a forgotten 1/N elsewhere)
    lambda g: -g,                   # wrong sign
    lambda g: g + 1e-4,             # a small bias
    lambda g: np.zeros_like(g),     # forgot to compute it
    lambda g: g[::-1].copy(),       # wrong order
])
def test_wrong_gradients_fail(bug):
    assert not check_gradient(quadratic, x0.copy(), bug(quadratic_grad(x0))).passed


def test_an_error_in_an_unsampled_coordinate_is_caught_by_directional_checks():
    W = rng.standard_normal((40, 30))
    f = lambda w: np.sum(np.tanh(w) ** 2)  # noqa: E731
    grad = 2 * np.tanh(W) * (1 - np.tanh(W) ** 2)
    grad[17, 3] += 0.5
    report = check_gradient(f, W, grad, max_coords=10, seed=1)
    assert report.n_checked == 10 and report.n_total == 1200
    assert not report.passed and report.directional_error > 1e-4


def test_exactly_zero_gradients_pass_and_small_ones_are_still_checked():
    f = lambda x: np.sum(x[:2] ** 2) + 0.0 * x[2]  # noqa: E731
    x = np.array([1.0, -2.0, 3.0])
    assert check_gradient(f, x, np.array([2.0, -4.0, 0.0])).passed
    assert not check_gradient(f, x, np.array([2.0, -4.0, 1e-6])).passed


def test_report_names_the_worst_coordinate():
    grad = quadratic_grad(x0)
    grad[4] *= 1.5
    report = check_gradient(quadratic, x0.copy(), grad, name="W1")
    assert report.worst_index == (4,)
    assert report.analytic == pytest.approx(grad[4])
    assert report.numeric == pytest.approx(grad[4] / 1.5, rel=1e-6)
    text = str(report)
    assert "W1" in text and "FAILED" in text and "index (4,)" in text
    with pytest.raises(AssertionError, match="gradient check of W1: FAILED"):
        report.assert_passed()


def test_float32_is_refused():
    with pytest.raises(TypeError, match="float64"):
        check_gradient(quadratic, x0.astype(np.float32), quadratic_grad(x0))


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="gradient of x and x must have the same shape"):
        check_gradient(quadratic, x0.copy(), np.zeros(5))


def test_directional_derivative():
    v = rng.standard_normal(6)
    numeric = gradcheck.directional_derivative(quadratic, x0.copy(), v)
    assert numeric == pytest.approx(quadratic_grad(x0) @ v, rel=1e-8)
