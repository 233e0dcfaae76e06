"""Losses: values against direct formulas, gradients against finite differences, stability,
and clear errors for bad labels and NaN."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import losses
from course_lib.gradcheck import check_gradient

rng = np.random.default_rng(0)


def _classification_case(n, c, scale=1.0, seed=0):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, c)) * scale, r.integers(0, c, n)


@pytest.mark.parametrize("n,c", [(1, 2), (5, 3), (8, 10)])
def test_softmax_cross_entropy_value_and_gradient(n, c):
    logits, y = _classification_case(n, c, seed=n)
    loss, grad = losses.softmax_cross_entropy(logits, y)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(n), y])), rel=1e-12)
    check_gradient(lambda z: losses.softmax_cross_entropy(z, y)[0], logits, grad).assert_passed()


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 999.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad = losses.softmax_cross_entropy(logits, np.array([0, 2]))
    # Example 0 is right with certainty (loss 0); example 1 is off by a logit gap of 1.
    assert loss == pytest.approx(np.log1p(np.exp(1.0)) / 2, rel=1e-12)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-15)


@given(st.floats(-1e3, 1e3), st.integers(0, 1))
@settings(max_examples=100, deadline=None)
def test_binary_cross_entropy_is_stable_and_correct(z, y):
    logits, labels = np.array([z]), np.array([float(y)])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad = losses.binary_cross_entropy_with_logits(logits, labels)
    # -log sigma(t z) with t = 2y - 1 in {-1, +1}: the lectures' logit loss.
    t = 2 * y - 1
    assert loss == pytest.approx(np.logaddexp(0.0, -t * z), rel=1e-12, abs=1e-300)
    assert np.isfinite(grad).all()


def test_binary_cross_entropy_gradient():
    z = rng.standard_normal((6, 1)) * 3
    y = (rng.random((6, 1)) < 0.5).astype(float)
    _, grad = losses.binary_cross_entropy_with_logits(z, y)
    check_gradient(lambda v: losses.binary_cross_entropy_with_logits(v, y)[0], z, grad).assert_passed()


def test_mean_squared_error_value_and_gradient():
    pred, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    loss, grad = losses.mean_squared_error(pred, target)
    assert loss == pytest.approx(np.mean((pred - target) ** 2))
    check_gradient(lambda p: losses.mean_squared_error(p, target)[0], pred, grad).assert_passed()


def test_multiclass_hinge_value_and_gradient():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    loss, grad = losses.multiclass_hinge(scores, y)
    # The CS231n worked example: per-example losses 2.9, 0 and 12.9.
    assert loss == pytest.approx((2.9 + 0.0 + 12.9) / 3)
    # Scores far from the hinge points are smooth, so finite differences apply there.
    check_gradient(lambda s: losses.multiclass_hinge(s, y)[0], scores, grad).assert_passed()


@pytest.mark.parametrize("loss_fn", [losses.softmax_cross_entropy, losses.multiclass_hinge])
def test_labels_out_of_range_are_named(loss_fn):
    with pytest.raises(ValueError, match="label 3, outside the 3 classes"):
        loss_fn(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        loss_fn(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="integer class labels"):
        loss_fn(np.zeros((2, 3)), np.array([0.5, 1.0]))


def test_nan_input_is_reported_with_its_position():
    logits = np.zeros((3, 4))
    logits[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"logits contains nan at index \(1, 2\)"):
        losses.softmax_cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="target contains nan"):
        losses.mean_squared_error(np.zeros(3), np.array([0.0, np.nan, 1.0]))


def test_binary_labels_must_be_zero_or_one():
    with pytest.raises(ValueError, match="binary labels 0 or 1, got -1"):
        losses.binary_cross_entropy_with_logits(np.zeros(2), np.array([1.0, -1.0]))


def test_loss_is_mean_over_batch():
    # Duplicating the batch must leave the loss unchanged and halve each example's gradient.
    logits, y = _classification_case(4, 5)
    loss, grad = losses.softmax_cross_entropy(logits, y)
    loss2, grad2 = losses.softmax_cross_entropy(np.vstack([logits, logits]), np.concatenate([y, y]))
    assert loss2 == pytest.approx(loss)
    np.testing.assert_allclose(grad2[:4], grad / 2)


def test_binary_labels_may_be_a_vector_for_one_output_unit():
    z = np.array([[2.0], [-1.0], [0.5]])
    y = np.array([1.0, 0.0, 1.0])
    loss, grad = losses.binary_cross_entropy_with_logits(z, y)
    loss2, grad2 = losses.binary_cross_entropy_with_logits(z, y[:, None])
    assert loss == loss2 and grad.shape == (3, 1)
    np.testing.assert_array_equal(grad, grad2)
