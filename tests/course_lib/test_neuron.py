"""The single neuron: gates' truth tables, the perceptron rule and its convergence (and its
failure on XOR), the logistic neuron's gradient descent, and why XOR needs a hidden layer."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import losses, nn
from course_lib._validation import ShapeError
from course_lib.gradcheck import check_gradient
from course_lib.neuron import (LogisticNeuron, Perceptron, ThresholdNetwork, ThresholdUnit,
                               and_gate, nand_gate, not_gate, or_gate, perceptron_update,
                               xor_network)

BOOLEAN_PAIRS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
AND = np.array([0, 0, 0, 1])
OR = np.array([0, 1, 1, 1])
XOR = np.array([0, 1, 1, 0])


def _blobs(n=40, gap=3.0, seed=0):
    """Two Gaussian blobs in 2-D whose centers are ``gap`` apart along (1, 1)."""
    r = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = r.standard_normal((n, 2)) * 0.5 + (y[:, None] - 0.5) * gap / np.sqrt(2)
    return X, y


# --- threshold logic units -------------------------------------------------------------------

def test_gates_truth_tables_with_the_lectures_weights():
    np.testing.assert_array_equal(and_gate().predict(BOOLEAN_PAIRS), AND)
    np.testing.assert_array_equal(or_gate().predict(BOOLEAN_PAIRS), OR)
    np.testing.assert_array_equal(nand_gate().predict(BOOLEAN_PAIRS), 1 - AND)
    np.testing.assert_array_equal(not_gate().predict([[0], [1]]), [1, 0])
    # or(a, b) = 1[a + b - 0.5 >= 0], and: -1.5, not(a) = 1[-a + 0.5 >= 0].
    assert (or_gate().weights.tolist(), or_gate().bias) == ([1.0, 1.0], -0.5)
    assert (and_gate().weights.tolist(), and_gate().bias) == ([1.0, 1.0], -1.5)
    assert (not_gate().weights.tolist(), not_gate().bias) == ([-1.0], 0.5)


def test_threshold_unit_fires_at_exactly_zero():
    unit = ThresholdUnit([1.0, -1.0], 0.0)
    np.testing.assert_array_equal(unit.predict([[2.0, 2.0], [1.0, 2.0], [3.0, 1.0]]), [1, 0, 1])


def test_two_layers_of_gates_compute_xor():
    np.testing.assert_array_equal(xor_network().predict(BOOLEAN_PAIRS), XOR)


def test_threshold_network_returns_one_column_per_unit_of_its_last_layer():
    both = ThresholdNetwork([or_gate(), nand_gate()]).predict(BOOLEAN_PAIRS)
    np.testing.assert_array_equal(both, np.column_stack([OR, 1 - AND]))


def test_threshold_unit_rejects_wrong_width():
    with pytest.raises(ShapeError, match=r"expects X of shape \(N, 2\), got \(4, 3\)"):
        and_gate().predict(np.zeros((4, 3)))


# --- perceptron ------------------------------------------------------------------------------

@pytest.mark.parametrize("targets", [AND, OR], ids=["and", "or"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_perceptron_learns_and_and_or(targets, shuffle):
    p = Perceptron(max_epochs=50, seed=0, shuffle=shuffle).fit(BOOLEAN_PAIRS, targets)
    assert p.converged_ and p.errors_per_epoch_[-1] == 0
    assert len(p.errors_per_epoch_) < 50
    np.testing.assert_array_equal(p.predict(BOOLEAN_PAIRS), targets)


def test_perceptron_update_rule_by_hand():
    X, y = np.array([[2.0, 1.0], [1.0, 3.0]]), np.array([0, 1])
    p = Perceptron(lr=0.5, max_epochs=1, shuffle=False).fit(X, y)
    # Start w = (0, 0), b = 0.
    # x1: z = 0 >= 0 so yhat = 1, but y = 0: w = -0.5 (2, 1) = (-1, -0.5), b = -0.5.
    # x2: z = -1 - 1.5 - 0.5 = -3 < 0 so yhat = 0, but y = 1: w = (-0.5, 1), b = 0.
    np.testing.assert_array_equal(p.coef_, [-0.5, 1.0])
    assert p.intercept_ == 0.0
    assert p.errors_per_epoch_ == [2] and p.n_updates_ == 2 and not p.converged_
    first = Perceptron(lr=0.5, max_epochs=1, shuffle=False).fit(X[:1], y[:1])
    np.testing.assert_array_equal(first.coef_, [-1.0, -0.5])
    assert first.intercept_ == -0.5



def test_one_perceptron_update_leaves_its_input_alone():
    w = np.array([2.0, -1.0])
    # z = 2 - 1 + 0 = 1 >= 0: yhat = 1 is right for y = 1, wrong for y = 0.
    new_w, new_b, mistake = perceptron_update(w, 0.0, np.array([1.0, 1.0]), 1, lr=0.5)
    assert new_w.tolist() == [2.0, -1.0] and new_b == 0.0 and mistake is False
    new_w, new_b, mistake = perceptron_update(w, 0.0, np.array([1.0, 1.0]), 0, lr=0.5)
    assert new_w.tolist() == [1.5, -1.5] and new_b == -0.5 and mistake is True
    assert w.tolist() == [2.0, -1.0]

def test_perceptron_separates_blobs():
    X, y = _blobs(n=60, gap=4.0, seed=1)
    p = Perceptron(max_epochs=100, seed=0).fit(X, y)
    assert p.converged_
    np.testing.assert_array_equal(p.predict(X), y)
    assert p.n_updates_ == sum(p.errors_per_epoch_)


@given(st.integers(0, 10_000), st.integers(5, 30))
@settings(max_examples=40, deadline=None)
def test_perceptron_mistakes_stay_within_novikoffs_bound(seed, n):
    """On data separable with margin gamma by a unit vector u (over inputs extended by 1 for
    the bias), the perceptron makes at most (R / gamma)^2 mistakes, R = max ||(x, 1)||."""
    r = np.random.default_rng(seed)
    u = r.standard_normal(3)
    u /= np.linalg.norm(u)
    X = r.uniform(-2, 2, (4 * n, 2))
    margins = np.column_stack([X, np.ones(len(X))]) @ u
    keep = np.abs(margins) > 0.2
    X, y = X[keep][:n], (margins[keep][:n] > 0).astype(int)
    if len(X) == 0:
        return
    R = np.max(np.linalg.norm(np.column_stack([X, np.ones(len(X))]), axis=1))
    gamma = np.min(np.abs(np.column_stack([X, np.ones(len(X))]) @ u))
    bound = (R / gamma) ** 2
    p = Perceptron(max_epochs=int(bound) + 2, seed=seed).fit(X, y)
    assert p.converged_
    assert p.n_updates_ <= bound
    np.testing.assert_array_equal(p.predict(X), y)


def test_perceptron_never_converges_on_xor():
    p = Perceptron(max_epochs=200, seed=0).fit(BOOLEAN_PAIRS, XOR)
    assert not p.converged_
    assert len(p.errors_per_epoch_) == 200 and min(p.errors_per_epoch_) >= 1
    assert np.mean(p.predict(BOOLEAN_PAIRS) == XOR) <= 0.75


def test_perceptron_seed_makes_fits_repeat():
    X, y = _blobs(n=30, gap=2.0, seed=2)
    a, b = Perceptron(seed=5).fit(X, y), Perceptron(seed=5).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.errors_per_epoch_ == b.errors_per_epoch_


# --- logistic neuron -------------------------------------------------------------------------

def test_logistic_neuron_classifies_separable_data():
    X, y = _blobs(n=80, gap=4.0, seed=3)
    model = LogisticNeuron(lr=0.5, n_epochs=200).fit(X, y)
    assert np.mean(model.predict(X) == y) >= 0.97
    proba = model.predict_proba(X)
    assert proba.shape == (80,) and np.all((proba > 0) & (proba < 1))
    np.testing.assert_array_equal(model.predict(X), (proba >= 0.5).astype(int))
    np.testing.assert_allclose(model.decision_function(X), X @ model.coef_ + model.intercept_)
    assert model.loss_history_[0] == pytest.approx(np.log(2))  # w = 0: P = 1/2 everywhere


def test_logistic_neuron_loss_decreases_monotonically_with_full_batch():
    X, y = _blobs(n=50, gap=1.5, seed=4)
    model = LogisticNeuron(lr=0.1, n_epochs=100, weight_decay=0.01).fit(X, y)
    history = np.array(model.loss_history_)
    assert len(history) == 101
    assert np.all(np.diff(history) < 0)
    assert history[-1] < 0.8 * history[0]


def test_logistic_neuron_gradient_matches_finite_differences():
    r = np.random.default_rng(5)
    X, y = r.standard_normal((12, 3)), r.integers(0, 2, 12)
    model = LogisticNeuron(weight_decay=0.3).fit(X, y)   # any point will do; use a trained one
    model.coef_ += r.standard_normal(3)
    loss, dw, db = model.loss_gradient(X, y)
    z = X @ model.coef_ + model.intercept_
    expected = losses.binary_cross_entropy_with_logits(z, y.astype(float))[0] \
        + 0.15 * model.coef_ @ model.coef_
    assert loss == pytest.approx(expected, rel=1e-14)
    check_gradient(lambda _: model.loss_gradient(X, y)[0], model.coef_, dw,
                   name="coef").assert_passed()
    b = np.array([model.intercept_])

    def loss_at_b(_):
        model.intercept_ = float(b[0])
        return model.loss_gradient(X, y)[0]

    check_gradient(loss_at_b, b, np.array([db]), name="intercept").assert_passed()


def test_logistic_neuron_minibatches_repeat_with_a_seed_and_also_learn():
    X, y = _blobs(n=64, gap=4.0, seed=6)
    a = LogisticNeuron(lr=0.3, n_epochs=20, batch_size=8, seed=1).fit(X, y)
    b = LogisticNeuron(lr=0.3, n_epochs=20, batch_size=8, seed=1).fit(X, y)
    c = LogisticNeuron(lr=0.3, n_epochs=20, batch_size=8, seed=2).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)
    assert np.mean(a.predict(X) == y) >= 0.95


def test_logistic_neuron_epoch_is_one_pass_over_a_shuffled_split_into_minibatches():
    r = np.random.default_rng(9)
    X, y = r.standard_normal((12, 3)), r.integers(0, 2, 12)
    model = LogisticNeuron(lr=0.2, n_epochs=2, batch_size=5, weight_decay=0.1, seed=3).fit(X, y)
    # The same steps written out: batches of 5, 5 and 2 rows of a fresh permutation per epoch.
    rng, w, b = np.random.default_rng(3), np.zeros(3), 0.0
    for _ in range(2):
        order = rng.permutation(12)
        for rows in (order[:5], order[5:10], order[10:]):
            _, dz = losses.binary_cross_entropy_with_logits(X[rows] @ w + b, y[rows].astype(float))
            w, b = w - 0.2 * (X[rows].T @ dz + 0.1 * w), b - 0.2 * dz.sum()
    np.testing.assert_allclose(model.coef_, w, rtol=1e-13)
    assert model.intercept_ == pytest.approx(b, rel=1e-13)


def test_weight_decay_shrinks_the_weights():
    X, y = _blobs(n=40, gap=4.0, seed=7)
    plain = LogisticNeuron(lr=0.5, n_epochs=300).fit(X, y)
    decayed = LogisticNeuron(lr=0.5, n_epochs=300, weight_decay=0.1).fit(X, y)
    assert np.linalg.norm(decayed.coef_) < 0.5 * np.linalg.norm(plain.coef_)


# --- XOR: one neuron cannot, two hidden units can -------------------------------------------

def test_one_logistic_neuron_cannot_solve_xor():
    model = LogisticNeuron(lr=1.0, n_epochs=2000).fit(BOOLEAN_PAIRS, XOR)
    assert np.mean(model.predict(BOOLEAN_PAIRS) == XOR) <= 0.75


def _xor_net(W1, b1, W2, b2):
    net = nn.mlp([2, 2, 1], "sigmoid")
    for p, v in zip(net.parameters(), (W1, b1, W2, b2)):
        p.value[...] = v
    return net


def test_the_lectures_two_hidden_neurons_solve_xor():
    # Hidden units sigma(20a + 20b - 10) ~ or, sigma(-20a - 20b + 30) ~ nand;
    # output sigma(20 h1 + 20 h2 - 30) ~ and.
    net = _xor_net([[20, -20], [20, -20]], [-10, 30], [[20], [20]], [-30])
    proba = 1 / (1 + np.exp(-net.forward(BOOLEAN_PAIRS.astype(float))[:, 0]))
    np.testing.assert_allclose(proba, XOR, atol=1e-4)


def test_a_network_with_two_hidden_units_learns_xor():
    net = nn.mlp([2, 2, 1], "tanh", seed=0)
    X, t = BOOLEAN_PAIRS.astype(float), XOR[:, None].astype(float)
    for _ in range(2000):
        loss, dscores = losses.binary_cross_entropy_with_logits(net.forward(X), t)
        net.backward(dscores)
        for p in net.parameters():
            p.value -= 0.5 * p.grad
    assert loss < 0.05
    np.testing.assert_array_equal((net.forward(X)[:, 0] >= 0).astype(int), XOR)


# --- input validation ------------------------------------------------------------------------

@pytest.mark.parametrize("model", [Perceptron(), LogisticNeuron()])
def test_clear_errors(model):
    with pytest.raises(ValueError, match="label 2"):
        model.fit(BOOLEAN_PAIRS, [0, 1, 2, 0])
    with pytest.raises(ShapeError, match=r"y must have shape \(4,\)"):
        model.fit(BOOLEAN_PAIRS, [0, 1, 1])
    with pytest.raises(ShapeError, match="X must be 2-D"):
        model.fit(np.zeros(4), [0, 1, 1, 0])
    with pytest.raises(ValueError, match="X contains nan"):
        model.fit([[0.0, np.nan], [1.0, 1.0]], [0, 1])
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict(BOOLEAN_PAIRS)
    model.fit(BOOLEAN_PAIRS, np.array([False, False, False, True]))   # booleans are labels too
    with pytest.raises(ShapeError, match=r"expects X of shape \(N, 2\)"):
        model.predict(np.zeros((3, 5)))


def test_bad_hyperparameters_are_rejected():
    with pytest.raises(ValueError, match="lr > 0"):
        Perceptron(lr=0)
    with pytest.raises(ValueError, match="batch_size"):
        LogisticNeuron(batch_size=0)
