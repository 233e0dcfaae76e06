"""Flow graph: every node's bprop against finite differences, accumulation over shared nodes,
broadcasting, and a whole MLP graph against course_lib.nn with the same weights."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import losses, nn
from course_lib._validation import ShapeError
from course_lib.gradcheck import check_gradient
from course_lib.graph import (MSE, Activation, Add, BinaryCrossEntropy, Input, MatMul, Mul,
                              Param, SoftmaxCrossEntropy, Sum, backprop, fprop, mlp_graph,
                              topological_order)

rng = np.random.default_rng(0)


def _scalar_head(node, *leaves, seed=1):
    """L = sum(node * G) + sum_k sum(leaf_k * G_k) for fixed random G, G_k: dL/d(node) = G is
    a generic direction, and every leaf is also used a second time, so a bprop that overwrote
    its parents' .grad instead of adding to it would lose the direct contribution."""
    r = np.random.default_rng(seed)
    loss = Sum(Mul(node, Input(r.standard_normal(node.value.shape))))
    for leaf in leaves:
        loss = Add(loss, Sum(Mul(leaf, Input(r.standard_normal(leaf.value.shape)))))
    return loss


def _check_leaves(loss, leaves):
    """backprop once, then compare each leaf's .grad with finite differences of fprop."""
    backprop(loss)
    for name, leaf in leaves.items():
        check_gradient(lambda _: float(fprop(loss)), leaf.value, leaf.grad,
                       name=name).assert_passed()
    fprop(loss)   # the last probe left every value at a perturbed point


@pytest.mark.parametrize("build, shapes", [
    (MatMul, [(4, 3), (3, 5)]),
    (Add, [(4, 3), (4, 3)]),
    (Add, [(4, 3), (3,)]),        # bias broadcast over rows
    (Add, [(4, 1), (1, 3)]),      # both sides broadcast
    (Mul, [(4, 3), (4, 3)]),
    (Mul, [(), (4, 3)]),          # a scalar times a tensor
    (Mul, [(4, 3), (4, 1)]),
])
def test_binary_node_backward_matches_finite_differences(build, shapes):
    a, b = (Param(rng.standard_normal(s)) for s in shapes)
    _check_leaves(_scalar_head(build(a, b), a, b), {"a": a, "b": b})


@pytest.mark.parametrize("name, kwargs", [
    ("sigmoid", {}), ("tanh", {}), ("relu", {}), ("leaky_relu", {"slope": 0.2}),
    ("elu", {"alpha": 0.7}), ("softplus", {}),
])
def test_activation_backward_matches_finite_differences(name, kwargs):
    # Entries at least 0.1 away from 0 keep the finite differences off the ReLU-family kink.
    values = rng.standard_normal((5, 4))
    values += np.sign(values) * 0.1
    x = Param(values)
    _check_leaves(_scalar_head(Activation(x, name, **kwargs), x), {"x": x})


def test_sum_backward_matches_finite_differences():
    x = Param(rng.standard_normal((3, 4)))
    loss = Sum(Mul(Sum(x), Sum(x)))   # (sum x)^2: dL/dx = 2 sum(x) everywhere
    _check_leaves(loss, {"x": x})
    np.testing.assert_allclose(x.grad, np.full((3, 4), 2 * x.value.sum()), rtol=1e-13)


def test_softmax_cross_entropy_node_backward():
    logits, y = Param(rng.standard_normal((6, 4))), Input(rng.integers(0, 4, 6))
    loss = SoftmaxCrossEntropy(logits, y)
    assert float(loss.value) == losses.softmax_cross_entropy(logits.value, y.value)[0]
    _check_leaves(_scalar_head(loss, logits), {"logits": logits})
    assert not y.grad.any()   # labels are discrete: no gradient reaches them


def test_mse_node_backward_sends_gradient_to_both_arguments():
    pred, target = Param(rng.standard_normal((5, 2))), Param(rng.standard_normal((5, 2)))
    loss = MSE(pred, target)
    assert float(loss.value) == pytest.approx(np.mean((pred.value - target.value) ** 2),
                                              rel=1e-14)
    _check_leaves(_scalar_head(loss, pred, target), {"pred": pred, "target": target})


def test_upstream_gradient_multiplies_a_loss_nodes_gradient():
    # L = 3 * MSE: the MSE node must scale its gradient by the dL/d(MSE) = 3 it receives.
    pred, target = Param(rng.standard_normal(4)), Input(rng.standard_normal(4))
    loss = Sum(Mul(3.0, MSE(pred, target)))
    _check_leaves(loss, {"pred": pred})
    np.testing.assert_allclose(pred.grad, 3 * 2 * (pred.value - target.value) / 4, rtol=1e-14)


def test_a_node_used_twice_receives_the_sum_of_both_contributions():
    a = Param(rng.standard_normal((2, 3)))
    backprop(Sum(Add(a, a)))
    np.testing.assert_array_equal(a.grad, np.full((2, 3), 2.0))
    backprop(Sum(Mul(a, a)))     # d/da sum(a^2) = 2a; also checks the old grad was discarded
    np.testing.assert_allclose(a.grad, 2 * a.value, rtol=1e-15)
    # A diamond: h feeds two branches that meet again.
    h = Activation(a, "tanh")
    loss = Sum(Add(Mul(h, 2.0), Mul(h, h)))
    _check_leaves(loss, {"a": a})
    np.testing.assert_allclose(a.grad, (2 + 2 * h.value) * (1 - h.value ** 2), rtol=1e-13)


@given(st.integers(1, 4), st.integers(1, 4), st.sampled_from(["row", "col", "matrix",
                                                               "scalar", "1x1", "same"]))
@settings(max_examples=60, deadline=None)
def test_broadcasting_add_sums_the_gradient_over_broadcast_axes(n, m, kind):
    shape_b = {"row": (m,), "col": (n, 1), "matrix": (1, m), "scalar": (),
               "1x1": (1, 1), "same": (n, m)}[kind]
    r = np.random.default_rng(n * 10 + m)
    a, b = Param(r.standard_normal((n, m))), Param(r.standard_normal(shape_b))
    g = r.standard_normal((n, m))
    backprop(Sum(Mul(Add(a, b), Input(g))))
    np.testing.assert_array_equal(a.grad, g)
    expected = {"row": g.sum(axis=0), "col": g.sum(axis=1, keepdims=True),
                "matrix": g.sum(axis=0, keepdims=True), "scalar": g.sum(),
                "1x1": g.sum(keepdims=True), "same": g}[kind]
    assert b.grad.shape == shape_b
    np.testing.assert_allclose(b.grad, expected, rtol=1e-14, atol=1e-14)


def _random_mlp(sizes, activation, seed):
    model = nn.mlp(sizes, activation, seed=seed)
    r = np.random.default_rng(seed + 100)
    for p in model.parameters():   # non-zero biases, so the bias path is really exercised
        p.value[...] = r.standard_normal(p.value.shape) * 0.5
    linears = [m for m in model.modules if isinstance(m, nn.Linear)]
    weights = [Param(m.W.value.copy()) for m in linears]
    biases = [Param(m.b.value.copy()) for m in linears]
    return model, linears, weights, biases


@pytest.mark.parametrize("sizes, activation", [
    ([4, 5, 3], "tanh"), ([6, 8, 7, 4], "relu"), ([3, 6, 2], "sigmoid"),
    ([5, 4, 4, 4, 3], "elu"),
])
def test_mlp_graph_matches_the_nn_modules(sizes, activation):
    """THE key test: same weights, same loss, same gradients as nn + softmax cross-entropy."""
    model, linears, weights, biases = _random_mlp(sizes, activation, seed=len(sizes))
    r = np.random.default_rng(7)
    X, y = r.standard_normal((9, sizes[0])), r.integers(0, sizes[-1], 9)

    loss_nn, dscores = losses.softmax_cross_entropy(model.forward(X), y)
    model.backward(dscores)
    loss = mlp_graph(Input(X), Input(y), weights, biases, activation)
    backprop(loss)

    assert float(loss.value) == pytest.approx(loss_nn, rel=1e-12)
    for k, m in enumerate(linears):
        np.testing.assert_allclose(weights[k].grad, m.W.grad, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(biases[k].grad, m.b.grad, rtol=1e-12, atol=1e-15)


def test_lecture_example_weight_used_by_network_and_penalty():
    """The lectures' 2-layer example: L = cross_ent + lam (||W1||^2 + ||W2||^2), where W1 and
    W2 reach the loss along two paths; their gradients must be network part + 2 lam W."""
    model, linears, weights, biases = _random_mlp([4, 6, 3], "sigmoid", seed=3)
    r = np.random.default_rng(8)
    X, y, lam = r.standard_normal((7, 4)), r.integers(0, 3, 7), 0.03
    data_loss = mlp_graph(X, y, weights, biases, "sigmoid")
    penalty = Add(Sum(Mul(weights[0], weights[0])), Sum(Mul(weights[1], weights[1])))
    loss = Add(data_loss, Mul(lam, penalty))
    _check_leaves(loss, {"W1": weights[0], "W2": weights[1], "b1": biases[0]})

    _, dscores = losses.softmax_cross_entropy(model.forward(X), y)
    model.backward(dscores)
    for W, m in zip(weights, linears):
        np.testing.assert_allclose(W.grad, m.W.grad + 2 * lam * W.value, rtol=1e-12)


def test_fprop_recomputes_after_a_parameter_changes_and_gradient_descent_learns():
    r = np.random.default_rng(4)
    X, y = r.standard_normal((20, 2)), (r.standard_normal(20) > 0).astype(int)
    X[:, 0] += 3 * y                # separable enough along the first feature
    weights = [Param(r.standard_normal((2, 5)) * 0.5), Param(r.standard_normal((5, 2)) * 0.5)]
    biases = [Param(np.zeros(5)), Param(np.zeros(2))]
    loss = mlp_graph(X, y, weights, biases, "tanh")
    first = float(loss.value)
    for _ in range(50):
        backprop(loss)
        for p in weights + biases:
            p.value -= 0.5 * p.grad
        fprop(loss)
    assert float(loss.value) < 0.5 * first
    scores = loss.parents[0].value
    assert np.mean(scores.argmax(axis=1) == y) >= 0.9


def test_topological_order_puts_parents_first_and_visits_shared_nodes_once():
    a = Param(np.ones(2))
    h = Activation(a, "relu")
    loss = Sum(Add(h, Mul(h, a)))
    order = topological_order(loss)
    assert len(order) == len(set(order)) == 5
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        assert all(position[p] < position[node] for p in node.parents)
    assert order[-1] is loss


def test_clear_errors():
    with pytest.raises(ShapeError, match=r"\(4, 3\) @ \(2, 5\)"):
        MatMul(Param(np.ones((4, 3))), Param(np.ones((2, 5))))
    with pytest.raises(ShapeError, match="Add cannot broadcast"):
        Add(Param(np.ones((4, 3))), Param(np.ones(4)))
    with pytest.raises(ShapeError, match="scalar loss"):
        backprop(Add(Param(np.ones(3)), 1.0))
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        Activation(Param(np.ones(3)), "relux")
    with pytest.raises(ValueError, match="label 5"):
        SoftmaxCrossEntropy(Param(np.ones((2, 3))), Input([0, 5]))
    with pytest.raises(TypeError, match="value must hold real numbers"):
        Param(np.array(["a"]))
    with pytest.raises(ValueError, match="one bias per weight"):
        mlp_graph(np.ones((2, 3)), [0, 1], [Param(np.ones((3, 2)))], [])


def test_a_logistic_unit_as_a_flow_graph():
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((6, 3)), (rng.random(6) < 0.5).astype(float)
    w, b = Param(rng.standard_normal((3, 1))), Param(np.zeros(1))  # logits (6, 1), labels (6,)
    loss = BinaryCrossEntropy(Add(MatMul(Input(X), w), b), Input(y))
    backprop(loss)
    expected, dz = losses.binary_cross_entropy_with_logits(X @ w.value + b.value, y)
    assert float(loss.value) == pytest.approx(expected)
    np.testing.assert_allclose(w.grad, X.T @ dz)
    assert b.grad[0] == pytest.approx(dz.sum())
