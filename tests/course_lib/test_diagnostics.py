"""Diagnostics: the trace records what a hand-written backward computes, leaves the model as
it found it, and shows the vanishing gradients of deep sigmoid networks."""
import numpy as np
import pytest

from course_lib import losses, nn
from course_lib._validation import ShapeError
from course_lib.activations import sigmoid
from course_lib.diagnostics import (LayerTrace, dead_fraction, saturated_fraction, trace,
                                   unit_spread)


def batch(n=64, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, classes, n)


# --- dead and saturated units ----------------------------------------------------------------

def test_dead_fraction_counts_units_zero_on_every_example():
    a = np.array([[0.0, 1.0, 0.0, 2.0, 0.0],
                  [0.0, 0.0, 0.0, 3.0, 0.0],
                  [0.0, 2.0, 0.0, 0.0, 1e-9]])
    assert dead_fraction(a) == pytest.approx(2 / 5)  # columns 0 and 2; column 4 fires once
    assert dead_fraction(np.zeros((3, 4))) == 1.0
    assert dead_fraction(np.ones((3, 4))) == 0.0
    with pytest.raises(ShapeError, match="activations"):
        dead_fraction(np.zeros(5))


def test_saturated_fraction_thresholds():
    tanh_out = np.array([[-0.99, 0.5], [0.981, 0.98]])  # 0.98 itself is not saturated
    assert saturated_fraction(tanh_out, "tanh") == pytest.approx(0.5)
    sigmoid_out = np.array([0.005, 0.5, 0.995, 0.99, 0.01, 0.2])
    assert saturated_fraction(sigmoid_out, "sigmoid") == pytest.approx(2 / 6)
    with pytest.raises(ValueError, match="relu"):
        saturated_fraction(tanh_out, "relu")


def test_tanh_and_sigmoid_saturate_at_the_same_point():
    # tanh(x) = 2 sigma(2x) - 1, so the two thresholds describe the same pre-activations.
    x = 3 * np.random.default_rng(1).standard_normal(2000)
    fraction = saturated_fraction(np.tanh(x), "tanh")
    assert 0.2 < fraction < 0.8
    assert fraction == saturated_fraction(sigmoid(2 * x), "sigmoid")


def test_dead_relu_units_get_no_gradient():
    X, y = batch()
    model = nn.mlp([4, 6, 5, 3], "relu", seed=0)
    model[0].b.value[:3] = -100.0  # the first three units of layer 1 never fire
    record = trace(model, X, y)
    assert dead_fraction(record.activations[0]) == pytest.approx(3 / 6)
    assert not record.gradients[0][:, :3].any()
    assert record.gradients[0][:, 3:].any()
    assert not record.weight_gradients[0][:, :3].any()


# --- what trace records ----------------------------------------------------------------------

def test_trace_shapes_and_names():
    X, y = batch(n=10)
    model = nn.mlp([4, 7, 5, 3], "tanh", seed=0)
    record = trace(model, X, y)
    assert isinstance(record, LayerTrace) and len(record) == 2
    assert record.names == ["layer 1 (tanh)", "layer 2 (tanh)"]
    assert [a.shape for a in record.activations] == [(10, 7), (10, 5)]
    assert [g.shape for g in record.gradients] == [(10, 7), (10, 5)]
    assert [w.shape for w in record.weight_gradients] == [(4, 7), (7, 5)]
    assert isinstance(record.loss, float) and record.loss > 0
    np.testing.assert_allclose(record.std("activations"),
                               [record.activations[0].std(), record.activations[1].std()])
    with pytest.raises(ValueError, match="kind"):
        record.std("pre-activations")


def test_trace_without_labels_records_only_activations():
    X, _ = batch()
    record = trace(nn.mlp([4, 5, 3], "sigmoid", seed=0), X)
    assert len(record.activations) == 1 and record.loss is None
    assert record.gradients == [] and record.weight_gradients == []
    with pytest.raises(ValueError, match="pass labels y"):
        record.std("gradients")


def test_recorded_gradients_match_a_hand_written_backward():
    X, y = batch(n=20)
    rng = np.random.default_rng(2)
    model = nn.Sequential(nn.Linear(4, 6, seed=rng), nn.Activation("sigmoid"),
                          nn.Linear(6, 5, seed=rng), nn.Activation("relu"),
                          nn.Linear(5, 3, seed=rng))
    (W1, b1), (W2, b2), (W3, b3) = [(m.W.value, m.b.value) for m in model.modules[::2]]
    for b in (b1, b2, b3):
        b[:] = rng.standard_normal(b.shape)
    record = trace(model, X, y)

    s1 = X @ W1 + b1
    h1 = 1 / (1 + np.exp(-s1))
    s2 = h1 @ W2 + b2
    h2 = np.maximum(s2, 0)
    loss, dscores = losses.softmax_cross_entropy(h2 @ W3 + b3, y)
    ds2 = (dscores @ W3.T) * (s2 > 0)
    ds1 = (ds2 @ W2.T) * h1 * (1 - h1)

    assert record.loss == pytest.approx(loss, rel=1e-12)
    for got, want in zip(record.activations, (h1, h2)):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for got, want in zip(record.gradients, (ds1, ds2)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)
    for got, want in zip(record.weight_gradients, (X.T @ ds1, h1.T @ ds2)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)


def test_trace_accepts_a_loss_function():
    X, _ = batch(n=12)
    target = np.random.default_rng(3).standard_normal((12, 2))
    model = nn.mlp([4, 5, 2], "tanh", seed=0)
    record = trace(model, X, target, loss=losses.mean_squared_error)
    scores = model.forward(X)
    assert record.loss == pytest.approx(losses.mean_squared_error(scores, target)[0])
    model.backward(losses.mean_squared_error(scores, target)[1])
    np.testing.assert_allclose(record.weight_gradients[0], model[0].W.grad, rtol=1e-12)


def test_trace_leaves_the_model_as_it_found_it():
    X, y = batch()
    X = X + 5.0  # far from BatchNorm's initial running mean, so an update would show
    model = nn.mlp([4, 8, 6, 3], "relu", batchnorm=True, dropout=0.2, seed=0)
    for p in model.parameters():
        p.grad = np.full_like(p.value, 7.0)  # a backward waiting for its optimizer step
    before = model.state_dict()
    trace(model, X, y)
    after = model.state_dict()
    assert before.keys() == after.keys()
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    assert all(np.all(p.grad == 7.0) for p in model.parameters())
    assert model.training and all(m.training for m in model.modules)
    model.eval()
    trace(model, X, y)
    assert not model.training and not any(m.training for m in model.modules)


def test_trace_runs_in_the_models_current_mode():
    X, y = batch()
    X = X + 5.0
    model = nn.mlp([4, 8, 3], "tanh", batchnorm=True, seed=0)
    in_training = trace(model, X, y).activations[0]
    in_eval = trace(model.eval(), X, y).activations[0]
    # Training mode normalizes with this batch's statistics, eval mode with the running ones
    # (still mean 0, variance 1: the trace in training mode did not update them).
    bn_out = (X @ model[0].W.value - model[1].running_mean) / np.sqrt(model[1].running_var + 1e-5)
    np.testing.assert_allclose(in_eval, np.tanh(bn_out), rtol=1e-10)
    assert np.abs(np.tanh(bn_out) - in_training).max() > 0.1


def test_trace_rejects_what_it_cannot_trace():
    X, y = batch()
    with pytest.raises(TypeError, match="Sequential"):
        trace(nn.Linear(4, 3), X, y)
    with pytest.raises(ValueError, match="no nn.Activation"):
        trace(nn.Sequential(nn.Linear(4, 3)), X, y)
    with pytest.raises(ValueError, match="unknown loss"):
        trace(nn.mlp([4, 5, 3]), X, y, loss="cross_entropy")
    with pytest.raises(ShapeError, match="X"):
        trace(nn.mlp([4, 5, 3]), X[0], y)


# --- the vanishing gradient problem ----------------------------------------------------------

DEEP = [20] + [50] * 6 + [3]


@pytest.mark.parametrize("init", ["normal", "glorot_uniform"])
def test_gradients_vanish_toward_the_input_in_deep_sigmoid_networks(init):
    X, y = batch(n=200, d=20)
    record = trace(nn.mlp(DEEP, "sigmoid", init=init, seed=1), X, y)
    for kind in ("gradients", "weight_gradients"):
        spread = record.std(kind)
        assert len(spread) == 6
        assert np.all(np.diff(spread) > 0), f"{kind} std should grow toward the output: {spread}"
        assert spread[-1] > 100 * spread[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tanh_with_glorot_init_keeps_gradients_at_similar_sizes(seed):
    X, y = batch(n=200, d=20, seed=seed)
    record = trace(nn.mlp(DEEP, "tanh", init="glorot_uniform", seed=seed), X, y)
    for kind in ("gradients", "weight_gradients"):
        spread = record.std(kind)
        assert spread.max() < 5 * spread.min(), f"{kind}: {spread}"


def test_unit_spread_is_zero_exactly_for_identical_units():
    assert unit_spread(np.tile([[0.5], [-2.0], [3.0]], (1, 4))) == 0.0
    assert unit_spread(np.ones((3, 1))) == 0.0  # one unit: nothing to differ from
    # Row 1's weights (0, 2) have standard deviation 1, row 0's (1, 1.5) 0.25.
    assert unit_spread([[1.0, 1.5], [0.0, 2.0]]) == 1.0
