"""The shortcuts a training step takes for speed give the same results as the plain way."""
import numpy as np
import pytest

from course_lib import layers, nn


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_backward_passes_gradient_only_where_the_unit_was_active(dtype):
    out, _ = layers.relu_forward(np.array([[-1.0, 2.0, 0.0, 3.0]], dtype=dtype))
    dx = layers.relu_backward(np.array([[5.0, 6.0, 7.0, 8.0]], dtype=dtype), out)
    np.testing.assert_array_equal(dx, [[0.0, 6.0, 0.0, 8.0]])
    assert dx.dtype == dtype


def test_linear_backward_without_input_grad_skips_only_dx():
    rng = np.random.default_rng(0)
    x, W, b, dout = (rng.standard_normal(s) for s in [(4, 3), (3, 2), (2,), (4, 2)])
    _, cache = layers.linear_forward(x, W, b)
    dx, dW, db = layers.linear_backward(dout, cache)
    skipped, dW_fast, db_fast = layers.linear_backward(dout, cache, input_grad=False)
    assert skipped is None
    np.testing.assert_array_equal(dW_fast, dW)
    np.testing.assert_array_equal(db_fast, db)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_sequential_backward_without_input_grad_writes_the_same_gradients(batchnorm):
    rng = np.random.default_rng(1)
    model = nn.mlp([5, 7, 6, 3], batchnorm=batchnorm, seed=0)
    x, dout = rng.standard_normal((8, 5)), rng.standard_normal((8, 3))
    model(x)
    dx = model.backward(dout)
    grads = [p.grad.copy() for p in model.parameters()]
    model(x)
    assert model.backward(dout, input_grad=False) is None
    for p, grad in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, grad, err_msg=p.name)
    assert dx.shape == x.shape


def test_sequential_backward_without_input_grad_when_the_first_module_is_not_linear():
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.BatchNorm(4), nn.Linear(4, 2, seed=0))
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    model(x)
    model.backward(dout)
    grads = [p.grad.copy() for p in model.parameters()]
    model(x)
    assert model.backward(dout, input_grad=False) is None
    for p, grad in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, grad, err_msg=p.name)
