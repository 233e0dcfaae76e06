"""Layers (functional forward/backward pairs) and modules: every backward against float64
finite differences on awkward shapes, plus the behaviour of dropout and batch normalization."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import layers, nn
from course_lib.gradcheck import check_gradient, check_module

SHAPES = [(1, 3, 2), (4, 5, 3), (7, 2, 6)]  # (N, D, M): a batch of one, non-square weights


def _inputs(n, d, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def _assert_all_passed(reports):
    for report in reports:
        report.assert_passed()


@pytest.mark.parametrize("n,d,m", SHAPES)
def test_linear_backward(n, d, m):
    rng = np.random.default_rng(n)
    x, W, b, dout = (rng.standard_normal(s) for s in [(n, d), (d, m), (m,), (n, m)])
    _, cache = layers.linear_forward(x, W, b)
    dx, dW, db = layers.linear_backward(dout, cache)
    loss = lambda _: np.sum(layers.linear_forward(x, W, b)[0] * dout)  # noqa: E731
    for value, grad, name in [(x, dx, "x"), (W, dW, "W"), (b, db, "b")]:
        check_gradient(loss, value, grad, name=name).assert_passed()


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "softplus"])
@pytest.mark.parametrize("n,d,m", SHAPES)
def test_activation_modules(name, n, d, m):
    x = _inputs(n, d, seed=m)
    _assert_all_passed(check_module(nn.Activation(name), x))


@pytest.mark.parametrize("n,d,m", SHAPES)
def test_linear_and_maxout_modules(n, d, m):
    x = _inputs(n, d)
    _assert_all_passed(check_module(nn.Linear(d, m, seed=1), x))
    _assert_all_passed(check_module(nn.Maxout(d, m, pieces=3, seed=2), x))


def test_dropout_backward_with_a_fixed_mask():
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    _, mask = layers.dropout_forward(x, 0.5, train=True, rng=4)
    forward = lambda z: np.sum(layers.dropout_forward(z, 0.5, True, mask=mask)[0] * dout)  # noqa
    check_gradient(forward, x, layers.dropout_backward(dout, mask)).assert_passed()


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("n", [2, 3, 16])
def test_batchnorm_module(train, n):
    bn = nn.BatchNorm(4)
    rng = np.random.default_rng(n)
    bn.gamma.value[:] = rng.uniform(0.5, 2.0, 4)
    bn.beta.value[:] = rng.standard_normal(4)
    bn.running_mean[:], bn.running_var[:] = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    bn.train(train)
    x = rng.standard_normal((n, 4)) * 3 + 1
    _assert_all_passed(check_module(bn, x))


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("batchnorm", [False, True])
def test_whole_mlp(activation, batchnorm):
    model = nn.mlp([6, 8, 5, 3], activation, batchnorm=batchnorm, seed=0)
    _assert_all_passed(check_module(model, _inputs(4, 6, seed=9)))


def test_mlp_with_dropout_in_eval_mode_and_the_determinism_guard():
    model = nn.mlp([5, 8, 3], dropout=0.5, seed=0)
    with pytest.raises(ValueError, match="different outputs"):
        check_module(model, _inputs(3, 5))  # train mode: a new mask each forward
    _assert_all_passed(check_module(model.eval(), _inputs(3, 5)))


# --- behaviour of dropout -----------------------------------------------------------------------

def test_dropout_is_identity_in_eval_and_resamples_in_train():
    x = np.ones((50, 40))
    drop = nn.Dropout(0.5, seed=0)
    first, second = drop(x), drop(x)
    assert not np.array_equal(first, second)  # a fresh mask every forward
    assert set(np.unique(first)) <= {0.0, 2.0}  # inverted scaling by 1 / (1 - p)
    drop.eval()
    assert np.array_equal(drop(x), x)
    np.testing.assert_array_equal(drop.backward(x), x)


@given(p=st.floats(0.05, 0.9), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_dropout_preserves_the_expectation(p, seed):
    x = np.full((400, 250), 3.0)
    out = nn.Dropout(p, seed=seed)(x)
    # 100,000 Bernoulli draws: the mean stays within a few standard errors of 3.
    standard_error = 3.0 * np.sqrt(p / (1 - p) / x.size)
    assert abs(out.mean() - 3.0) < 5 * standard_error
    assert abs((out == 0).mean() - p) < 5 * np.sqrt(p * (1 - p) / x.size)


def test_dropout_seed_repeats():
    x = np.ones((10, 10))
    assert np.array_equal(nn.Dropout(0.3, seed=7)(x), nn.Dropout(0.3, seed=7)(x))


# --- behaviour of batch normalization -------------------------------------------------------------

@given(n=st.integers(2, 40), d=st.integers(1, 6), seed=st.integers(0, 1000),
       scale=st.floats(1e-2, 1e2), shift=st.floats(-1e2, 1e2))
@settings(max_examples=50, deadline=None)
def test_batchnorm_train_output_is_standardized_then_affine(n, d, seed, scale, shift):
    x = np.random.default_rng(seed).standard_normal((n, d)) * scale + shift
    bn = nn.BatchNorm(d, eps=1e-12)
    bn.gamma.value[:] = 2.0
    bn.beta.value[:] = -1.0
    out = bn(x)
    np.testing.assert_allclose(out.mean(axis=0), -1.0, atol=1e-8)
    # Each column gets standard deviation gamma, shrunk by eps: gamma sqrt(var / (var + eps)).
    var = x.var(axis=0)
    np.testing.assert_allclose(out.std(axis=0), 2.0 * np.sqrt(var / (var + 1e-12)),
                               rtol=1e-6, atol=1e-6)


def test_batchnorm_running_statistics_and_eval_mode():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm(3, momentum=0.1)
    batches = [rng.standard_normal((32, 3)) * [1, 2, 3] + [5, -5, 0] for _ in range(200)]
    for x in batches:
        bn(x)
    # Exponential averages of the batch statistics converge to the population values.
    np.testing.assert_allclose(bn.running_mean, [5, -5, 0], atol=0.3)
    np.testing.assert_allclose(bn.running_var, [1, 4, 9], rtol=0.15)
    # After one more update the running mean is exactly the documented recursion.
    before = bn.running_mean.copy()
    bn(batches[0])
    np.testing.assert_allclose(bn.running_mean, 0.9 * before + 0.1 * batches[0].mean(axis=0))
    # In eval mode each example is normalized alone, with the running statistics.
    bn.eval()
    single = bn(batches[1][:1])
    expected = (batches[1][:1] - bn.running_mean) / np.sqrt(bn.running_var + bn.eps)
    np.testing.assert_allclose(single, expected)
    frozen = bn.running_mean.copy()
    bn(batches[2])
    np.testing.assert_array_equal(bn.running_mean, frozen)


def test_batchnorm_needs_two_examples_in_training():
    with pytest.raises(ValueError, match="at least 2 examples"):
        nn.BatchNorm(3)(np.zeros((1, 3)))


# --- module plumbing --------------------------------------------------------------------------

def test_clear_errors_at_the_public_api():
    layer = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear\(4 -> 3\) expects x of shape \(N, 4\), got \(8, 5\)"):
        layer(np.zeros((8, 5)))
    with pytest.raises(ValueError, match=r"expects x of shape \(N, 4\), got \(4,\)"):
        layer(np.zeros(4))
    with pytest.raises(TypeError, match="real numbers"):
        layer(np.array([["a"] * 4]))
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        nn.Activation("relux")
    with pytest.raises(ValueError, match="dropout probability"):
        nn.Dropout(1.0)


def test_state_dict_round_trip_restores_parameters_and_buffers():
    model = nn.mlp([3, 4, 2], batchnorm=True, seed=0)
    saved = model.state_dict()
    for p in model.parameters():
        p.value += 1.0
    model(np.random.default_rng(0).standard_normal((5, 3)))  # moves running statistics
    arrays_before = [p.value for p in model.parameters()]
    model.load_state_dict(saved)
    for (name, p), original in zip(model.named_parameters(), arrays_before):
        assert p.value is original  # restored in place: optimizers keep valid references
        np.testing.assert_array_equal(p.value, saved[name])
    np.testing.assert_array_equal(model.buffers()["1.running_mean"], 0.0)
    assert [n for n, _ in model.named_parameters()] == ["0.W", "0.b", "1.gamma", "1.beta", "3.W", "3.b"]


def test_weight_decay_flags_and_seeded_construction():
    model = nn.mlp([3, 4, 2], batchnorm=True, seed=5)
    assert [p.decay for p in model.parameters()] == [True, False, False, False, True, False]
    again = nn.mlp([3, 4, 2], batchnorm=True, seed=5)
    for p, q in zip(model.parameters(), again.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_float32_models_stay_float32():
    model = nn.mlp([4, 6, 3], seed=0, dtype=np.float32)
    out = model(np.ones((2, 4)))
    assert out.dtype == np.float32
    model.backward(np.ones_like(out))
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
