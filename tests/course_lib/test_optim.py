"""Optimizers and learning-rate schedules: each update rule against a two-step example worked
by hand, state across steps, weight decay, in-place float32 updates, convergence on quadratics,
schedules, and clear errors for bad arguments."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import optim
from course_lib._validation import ShapeError
from course_lib.nn import Linear, Parameter

W0 = [1.0, -2.0]
GRADS = ([0.5, -1.0], [1.0, 2.0])   # the gradients of the two steps of the worked examples


def _two_steps(make, dtype=np.float64):
    """Apply two steps of the optimizer ``make(params)`` with the fixed GRADS to w = W0."""
    p = Parameter(np.array(W0, dtype=dtype), "w")
    opt = make([p])
    trajectory = []
    for g in GRADS:
        p.grad = np.array(g, dtype=dtype)
        opt.step()
        trajectory.append(p.value.copy())
    return opt, trajectory


# Expected values worked out by hand from the update equations (lr = 0.1 throughout).
HAND_WORKED = {
    # w <- w - lr g
    "sgd": (lambda ps: optim.SGD(ps, lr=0.1),
            [0.95, -1.9], [0.85, -2.1]),
    # v = -0.1 g1 = (-0.05, 0.1); then v = 0.9 v - 0.1 g2 = (-0.145, -0.11)
    "momentum": (lambda ps: optim.Momentum(ps, lr=0.1, momentum=0.9),
                 [0.95, -1.9], [0.805, -2.01]),
    # same v; w <- w + 0.9 v - 0.1 g:  1 - 0.045 - 0.05 = 0.905;  0.905 - 0.1305 - 0.1
    "nesterov": (lambda ps: optim.Nesterov(ps, lr=0.1, momentum=0.9),
                 [0.905, -1.81], [0.6745, -2.109]),
    # G = (0.25, 1) gives steps 0.1 * (1, -1); then G = (1.25, 5)
    "adagrad": (lambda ps: optim.AdaGrad(ps, lr=0.1),
                [0.9, -1.9], [0.9 - 0.1 / np.sqrt(1.25), -1.9 - 0.2 / np.sqrt(5.0)]),
    # S = 0.1 g1^2 = (0.025, 0.1): steps 0.1 * 0.5 / sqrt(0.025) = 0.1 sqrt(10);
    # then S = 0.9 S + 0.1 g2^2 = (0.1225, 0.49), sqrt = (0.35, 0.7)
    "rmsprop": (lambda ps: optim.RMSProp(ps, lr=0.1, rho=0.9),
                [1 - 0.1 * np.sqrt(10), -2 + 0.1 * np.sqrt(10)],
                [1 - 0.1 * np.sqrt(10) - 0.1 / 0.35, -2 + 0.1 * np.sqrt(10) - 0.2 / 0.7]),
    # step 1: m_hat = g, v_hat = g^2, so each coordinate moves by lr against sign(g).
    # step 2: m = 0.9 (0.05, -0.1) + 0.1 (1, 2) = (0.145, 0.11), 1 - 0.9^2 = 0.19;
    #         v = 0.999 (0.00025, 0.001) + 0.001 (1, 4) = (0.00124975, 0.004999), 1 - 0.999^2 = 0.001999
    "adam": (lambda ps: optim.Adam(ps, lr=0.1),
             [0.9, -1.9],
             [0.9 - 0.1 * (0.145 / 0.19) / np.sqrt(0.00124975 / 0.001999),
              -1.9 - 0.1 * (0.11 / 0.19) / np.sqrt(0.004999 / 0.001999)]),
}


@pytest.mark.parametrize("name", HAND_WORKED)
def test_two_steps_match_the_hand_worked_example(name):
    make, first, second = HAND_WORKED[name]
    _, (w1, w2) = _two_steps(make)
    # eps = 1e-8 shifts the adaptive methods by about 1e-8 relative
    np.testing.assert_allclose(w1, first, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(w2, second, rtol=1e-7, atol=1e-12)


def test_state_persists_across_steps():
    adam, _ = _two_steps(lambda ps: optim.Adam(ps, lr=0.1))
    assert adam.t == 2
    np.testing.assert_allclose(adam.m[0], [0.145, 0.11], rtol=1e-12)
    np.testing.assert_allclose(adam.v[0], [0.00124975, 0.004999], rtol=1e-12)
    momentum, _ = _two_steps(lambda ps: optim.Momentum(ps, lr=0.1, momentum=0.9))
    np.testing.assert_allclose(momentum.velocities[0], [-0.145, -0.11], rtol=1e-12)
    adagrad, _ = _two_steps(lambda ps: optim.AdaGrad(ps, lr=0.1))
    np.testing.assert_allclose(adagrad.sum_squares[0], [1.25, 5.0], rtol=1e-12)
    rmsprop, _ = _two_steps(lambda ps: optim.RMSProp(ps, lr=0.1, rho=0.9))
    np.testing.assert_allclose(rmsprop.mean_squares[0], [0.1225, 0.49], rtol=1e-12)


def test_nesterov_is_sutskevers_lookahead_form_in_shifted_variables():
    # Sutskever et al.: v <- mu v - lr grad(u + mu v), u <- u + v. The stored weights of the
    # reformulation are the look-ahead point w = u + mu v, at every step.
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    mu, lr = 0.9, 0.05
    u, v = np.array([1.0, -1.0]), np.zeros(2)
    p = Parameter(u.copy(), "w")
    opt = optim.Nesterov([p], lr=lr, momentum=mu)
    for _ in range(20):
        v = mu * v - lr * (A @ (u + mu * v))
        u = u + v
        p.grad = A @ p.value
        opt.step()
        np.testing.assert_allclose(p.value, u + mu * v, rtol=1e-12, atol=1e-14)


@given(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3))
@settings(max_examples=50, deadline=None)
def test_first_adam_step_moves_each_coordinate_by_lr_whatever_the_gradient_scale(a, b):
    p = Parameter(np.zeros(2), "w")
    p.grad = np.array([a, -b])
    optim.Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.value, [-0.01, 0.01], rtol=2e-5)  # eps / |g| <= 1e-5


# --- weight decay -----------------------------------------------------------------------------

def _linear_with_zero_grads():
    layer = Linear(3, 2, seed=0)
    layer.b.value[...] = [1.0, -1.0]
    layer.zero_grad()
    return layer


def test_weight_decay_shrinks_weights_and_skips_biases():
    layer = _linear_with_zero_grads()
    W, b = layer.W.value.copy(), layer.b.value.copy()
    optim.SGD(layer.parameters(), lr=0.1, weight_decay=0.5).step()
    # with zero loss gradient, w <- w - lr * lam * w = (1 - 0.05) w
    np.testing.assert_allclose(layer.W.value, 0.95 * W, rtol=1e-15)
    np.testing.assert_array_equal(layer.b.value, b)
    np.testing.assert_array_equal(layer.W.grad, 0.0)  # the decay does not leak into p.grad


def test_decay_all_includes_biases():
    layer = _linear_with_zero_grads()
    W, b = layer.W.value.copy(), layer.b.value.copy()
    optim.SGD(layer.parameters(), lr=0.1, weight_decay=0.5, decay_all=True).step()
    np.testing.assert_allclose(layer.W.value, 0.95 * W, rtol=1e-15)
    np.testing.assert_allclose(layer.b.value, 0.95 * b, rtol=1e-15)


@pytest.mark.parametrize("name", optim.OPTIMIZERS)
def test_every_optimizer_adds_weight_decay_to_the_gradient(name):
    # Decay lam is the same as adding lam * w to the gradient, for every update rule.
    rng = np.random.default_rng(1)
    w0, grads = rng.standard_normal(4), rng.standard_normal((3, 4))
    decayed, plain = Parameter(w0.copy(), "w"), Parameter(w0.copy(), "w")
    opt_decayed = optim.OPTIMIZERS[name]([decayed], lr=0.01, weight_decay=0.3)
    opt_plain = optim.OPTIMIZERS[name]([plain], lr=0.01)
    for g in grads:
        decayed.grad = g.copy()
        plain.grad = g + 0.3 * plain.value
        opt_decayed.step()
        opt_plain.step()
    np.testing.assert_allclose(decayed.value, plain.value, rtol=1e-13)
    assert not np.allclose(decayed.value, w0)


# --- in place, dtype, efficiency --------------------------------------------------------------

@pytest.mark.parametrize("name", optim.OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_updates_are_in_place_and_keep_the_dtype(name, dtype):
    layer = Linear(4, 3, seed=0, dtype=dtype)
    arrays = [p.value for p in layer.parameters()]
    before = [a.copy() for a in arrays]
    opt = optim.OPTIMIZERS[name](layer.parameters(), lr=0.01, weight_decay=1e-3)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(dtype)
    for _ in range(3):
        layer.backward(np.ones_like(layer(x)))
        opt.step()
    for p, array, old in zip(layer.parameters(), arrays, before):
        assert p.value is array
        assert p.value.dtype == dtype and p.grad.dtype == dtype
        assert not np.array_equal(p.value, old)
    for attribute in ("velocities", "sum_squares", "mean_squares", "m", "v"):
        for state in getattr(opt, attribute, []):
            assert state.dtype == dtype


@pytest.mark.parametrize("name", ["adagrad", "rmsprop", "adam"])
def test_zero_gradients_give_no_division_warning_and_no_move(name):
    p = Parameter(np.array([1.0, 2.0], dtype=np.float32), "w")
    opt = optim.OPTIMIZERS[name]([p], lr=0.1)
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        opt.step()
    np.testing.assert_array_equal(p.value, [1.0, 2.0])


def test_zero_grad_zeroes_every_gradient():
    layer = Linear(3, 2, seed=0)
    layer.backward(np.ones_like(layer(np.ones((2, 3)))))
    opt = optim.SGD(layer.parameters(), lr=0.1)
    opt.zero_grad()
    for p in layer.parameters():
        np.testing.assert_array_equal(p.grad, 0.0)


# --- convergence on quadratics ----------------------------------------------------------------

def _minimize_quadratic(opt_factory, A, n_steps, w0=(1.0, 1.0), c=(0.0, 0.0), gamma=1.0):
    """Run the optimizer on f(w) = 0.5 (w - c)^T A (w - c), multiplying its learning rate by
    ``gamma`` after every step; return the final f and w."""
    c = np.asarray(c)
    p = Parameter(np.array(w0), "w")
    opt = opt_factory([p])
    schedule = optim.ExponentialDecay(opt, gamma)
    for _ in range(n_steps):
        p.grad = A @ (p.value - c)
        opt.step()
        schedule.step()
    d = p.value - c
    return 0.5 * d @ A @ d, p.value


# (lr, gamma) per optimizer. RMSProp with a constant lr ends in a cycle of amplitude about lr
# around the minimum (its steps have size ~lr whatever the gradient), so its lr must decay.
CONVERGENT = {"sgd": (0.3, 1.0), "momentum": (0.1, 1.0), "nesterov": (0.1, 1.0),
              "adagrad": (0.5, 1.0), "rmsprop": (0.05, 0.99), "adam": (0.05, 1.0)}


@pytest.mark.parametrize("name", CONVERGENT)
def test_every_optimizer_reaches_the_minimum_of_a_convex_quadratic(name):
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    w0, c = np.array([2.0, 1.0]), np.array([0.5, -1.5])
    f0 = 0.5 * (w0 - c) @ A @ (w0 - c)
    lr, gamma = CONVERGENT[name]
    factory = lambda ps: optim.OPTIMIZERS[name](ps, lr=lr)
    f, w = _minimize_quadratic(factory, A, 1000, w0=w0, c=c, gamma=gamma)
    assert f < 1e-10 * f0
    np.testing.assert_allclose(w, c, atol=1e-5)


def test_rmsprop_with_a_constant_learning_rate_stalls_near_the_minimum():
    A = np.diag([1.0, 1.0])
    f, w = _minimize_quadratic(lambda ps: optim.RMSProp(ps, lr=0.01), A, 2000)
    assert 1e-3 < np.abs(w).max() < 0.02


def test_momentum_beats_sgd_on_an_ill_conditioned_quadratic():
    A = np.diag([1.0, 100.0])      # condition number 100; lr = 1 / L for both
    f_sgd, _ = _minimize_quadratic(lambda ps: optim.SGD(ps, lr=0.01), A, 100)
    f_momentum, _ = _minimize_quadratic(lambda ps: optim.Momentum(ps, lr=0.01, momentum=0.9),
                                        A, 100)
    # SGD's slow direction shrinks by 0.99 per step: f ~ 0.5 * 0.99^200 ~ 0.07
    assert f_sgd > 0.05
    assert f_momentum < f_sgd / 100


# --- learning-rate schedules ------------------------------------------------------------------

def _sgd(lr=1.0):
    return optim.SGD([Parameter(np.zeros(1), "w")], lr=lr)


def _lrs(schedule, n_epochs, metrics=None):
    out = []
    for k in range(n_epochs):
        schedule.step(None if metrics is None else metrics[k])
        out.append(schedule.lr)
    return out


def test_step_decay_values():
    schedule = optim.StepDecay(_sgd(), step_size=3, gamma=0.5)
    assert _lrs(schedule, 7) == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_inverse_time_decay_values():
    opt = _sgd(0.3)
    schedule = optim.InverseTimeDecay(opt, decay=0.5)
    np.testing.assert_allclose(_lrs(schedule, 3), [0.3 / 1.5, 0.3 / 2.0, 0.3 / 2.5], rtol=1e-15)
    assert opt.lr == schedule.lr


def test_exponential_decay_values():
    schedule = optim.ExponentialDecay(_sgd(2.0), gamma=0.9)
    np.testing.assert_allclose(_lrs(schedule, 3), [1.8, 1.62, 1.458], rtol=1e-15)


def test_the_optimizer_uses_the_scheduled_learning_rate():
    p = Parameter(np.zeros(1), "w")
    opt = optim.SGD([p], lr=1.0)
    schedule = optim.StepDecay(opt, step_size=1, gamma=0.5)
    schedule.step()
    p.grad = np.ones(1)
    opt.step()
    np.testing.assert_array_equal(p.value, [-0.5])


def test_halve_on_plateau_halves_exactly_after_patience_epochs():
    schedule = optim.HalveOnPlateau(_sgd(), patience=3)
    # best 0.9 at epoch 2, then three epochs without improvement: halve at the fifth step,
    # then three more bad epochs before the next halving; an improvement restarts the count
    losses = [1.0, 0.9, 0.95, 0.93, 0.91, 0.92, 0.95, 0.9, 0.8, 0.85, 0.85]
    assert _lrs(schedule, len(losses), losses) == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25,
                                                   0.25, 0.25]


def test_halve_on_plateau_respects_min_lr():
    schedule = optim.HalveOnPlateau(_sgd(), patience=1, min_lr=0.3)
    assert _lrs(schedule, 4, [1.0, 2.0, 2.0, 2.0]) == [1.0, 0.5, 0.3, 0.3]


def test_halve_on_plateau_needs_the_metric():
    with pytest.raises(ValueError, match="val_loss"):
        optim.HalveOnPlateau(_sgd()).step()


# --- errors -----------------------------------------------------------------------------------

def _params():
    return [Parameter(np.zeros(2), "w")]


@pytest.mark.parametrize("make, match", [
    (lambda: optim.SGD(_params(), lr=-0.1), "lr"),
    (lambda: optim.SGD(_params(), lr=float("nan")), "lr"),
    (lambda: optim.SGD(_params(), lr="0.1"), "lr"),
    (lambda: optim.SGD([], lr=0.1), "empty"),
    (lambda: optim.SGD(_params(), lr=0.1, weight_decay=-1), "weight_decay"),
    (lambda: optim.Momentum(_params(), lr=0.1, momentum=1.0), "momentum"),
    (lambda: optim.Nesterov(_params(), lr=0.1, momentum=-0.1), "momentum"),
    (lambda: optim.AdaGrad(_params(), lr=0.1, eps=0.0), "eps"),
    (lambda: optim.RMSProp(_params(), lr=0.1, rho=1.5), "rho"),
    (lambda: optim.Adam(_params(), beta1=1.0), "beta1"),
    (lambda: optim.Adam(_params(), beta2=-0.5), "beta2"),
    (lambda: optim.StepDecay(_sgd(), step_size=0), "step_size"),
    (lambda: optim.StepDecay(_sgd(), step_size=2, gamma=0.0), "gamma"),
    (lambda: optim.ExponentialDecay(_sgd(), gamma=1.5), "gamma"),
    (lambda: optim.InverseTimeDecay(_sgd(), decay=-1.0), "decay"),
    (lambda: optim.HalveOnPlateau(_sgd(), patience=0), "patience"),
    (lambda: optim.HalveOnPlateau(_sgd(), factor=1.0), "factor"),
    (lambda: optim.HalveOnPlateau(_sgd(), min_lr=-1.0), "min_lr"),
])
def test_bad_arguments_raise_clear_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_bad_parameter_lists_raise_clear_errors():
    p = Parameter(np.zeros(2), "w")
    with pytest.raises(ValueError, match="twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match="Parameter"):
        optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(TypeError, match="floating"):
        optim.SGD([Parameter(np.zeros(2, dtype=int), "w")], lr=0.1)
    with pytest.raises(TypeError, match="Optimizer"):
        optim.StepDecay(0.1, step_size=1)


def test_setting_a_bad_lr_later_raises():
    opt = _sgd()
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0


def test_a_gradient_of_the_wrong_shape_is_reported_by_name():
    p = Parameter(np.zeros((2, 3)), "W")
    opt = optim.Adam([p])
    p.grad = np.zeros((3, 2))
    with pytest.raises(ShapeError, match="W"):
        opt.step()
