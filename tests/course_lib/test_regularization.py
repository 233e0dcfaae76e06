"""L2 penalty (value, gradient by finite differences, skipped biases, equivalence with optimizer
weight decay) and early stopping (when it stops, min_delta, mode, exact restoration)."""
import numpy as np
import pytest

from course_lib import optim
from course_lib.gradcheck import check_gradient
from course_lib.nn import Linear, mlp
from course_lib.regularization import EarlyStopping, l2_penalty


def _model():
    """Linear -> BatchNorm -> ReLU -> Linear: weights, biases, BN gains/shifts and buffers."""
    return mlp([3, 4, 2], batchnorm=True, seed=0)


# --- L2 penalty -------------------------------------------------------------------------------

def test_l2_penalty_value_counts_only_the_weight_matrices():
    model = _model()
    for p in model.parameters():   # make biases and BN parameters nonzero so skipping shows
        p.value += 0.5
    value, _ = l2_penalty(model.parameters(), 0.1)
    W1, W2 = model[0].W.value, model[3].W.value
    assert value == pytest.approx(0.05 * (np.sum(W1 ** 2) + np.sum(W2 ** 2)), rel=1e-14)


def test_l2_penalty_gradient_passes_a_finite_difference_check():
    model = _model()
    params = model.parameters()
    for p in params:
        p.value += 0.5
    _, grads = l2_penalty(params, 0.3)
    for p, grad in zip(params, grads):
        if p.decay:
            check_gradient(lambda _: l2_penalty(params, 0.3)[0], p.value, grad,
                           name=p.name).assert_passed()


def test_l2_penalty_skips_biases_unless_asked():
    layer = Linear(3, 2, seed=0)
    layer.b.value[...] = [1.0, 2.0]
    value, (dW, db) = l2_penalty(layer.parameters(), 0.5)
    np.testing.assert_array_equal(db, 0.0)
    np.testing.assert_allclose(dW, 0.5 * layer.W.value, rtol=1e-15)
    value_all, (dW_all, db_all) = l2_penalty(layer.parameters(), 0.5, include_all=True)
    # ||b||^2 = 5 adds 0.25 * 5
    assert value_all == pytest.approx(value + 1.25, rel=1e-14)
    np.testing.assert_allclose(db_all, [0.5, 1.0], rtol=1e-15)


def test_adding_the_penalty_gradient_equals_optimizer_weight_decay():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    by_penalty, by_decay = _model(), _model()
    opt_penalty = optim.Adam(by_penalty.parameters(), lr=0.01)
    opt_decay = optim.Adam(by_decay.parameters(), lr=0.01, weight_decay=0.1)
    for _ in range(3):
        target = rng.standard_normal((6, 2))
        for model in (by_penalty, by_decay):
            model.backward(model(x) - target)  # gradient of 0.5 ||out - target||^2
        _, grads = l2_penalty(by_penalty.parameters(), 0.1)
        for p, g in zip(by_penalty.parameters(), grads):
            p.grad = p.grad + g
        opt_penalty.step()
        opt_decay.step()
    for a, b in zip(by_penalty.parameters(), by_decay.parameters()):
        np.testing.assert_allclose(a.value, b.value, rtol=1e-12, atol=1e-15)


def test_l2_penalty_rejects_a_negative_weight_decay():
    with pytest.raises(ValueError, match="weight_decay"):
        l2_penalty(_model().parameters(), -0.1)


# --- early stopping ---------------------------------------------------------------------------

def _updates(stopper, metrics, model=None):
    model = model or Linear(2, 1, seed=0)
    return [stopper.update(m, model) for m in metrics]


def test_stops_exactly_after_patience_epochs_without_improvement():
    stopper = EarlyStopping(patience=3)
    assert _updates(stopper, [0.9, 0.7, 0.8, 0.75, 0.72]) == [False] * 4 + [True]
    assert (stopper.best_epoch, stopper.best_metric) == (2, 0.7)
    assert stopper.epochs_without_improvement == 3


def test_an_improvement_restarts_the_count():
    stopper = EarlyStopping(patience=2)
    assert _updates(stopper, [1.0, 1.1, 0.9, 1.0, 0.95]) == [False, False, False, False, True]
    assert stopper.best_epoch == 3


def test_min_delta_requires_a_large_enough_improvement():
    stopper = EarlyStopping(patience=5, min_delta=0.25)
    # 0.75 is not below 1.0 - 0.25; 0.7 is; 0.5 is not below 0.7 - 0.25
    _updates(stopper, [1.0, 0.75, 0.7, 0.5])
    assert (stopper.best_epoch, stopper.best_metric) == (3, 0.7)
    assert stopper.epochs_without_improvement == 1


def test_mode_max_for_an_accuracy():
    stopper = EarlyStopping(patience=2, mode="max")
    assert _updates(stopper, [0.5, 0.6, 0.6, 0.55]) == [False, False, False, True]
    assert (stopper.best_epoch, stopper.best_metric) == (2, 0.6)
    assert stopper.epoch == 4


def test_a_nan_metric_never_improves():
    stopper = EarlyStopping(patience=2)
    assert _updates(stopper, [1.0, float("nan"), float("nan")]) == [False, False, True]
    assert stopper.best_metric == 1.0
    with pytest.raises(RuntimeError, match="no best model"):
        EarlyStopping().restore(Linear(2, 1, seed=0))


def test_restore_loads_exactly_the_best_parameters_and_batchnorm_statistics():
    rng = np.random.default_rng(0)
    model = _model()
    arrays = [p.value for p in model.parameters()] + list(model.buffers().values())
    opt = optim.SGD(model.parameters(), lr=0.1)
    stopper = EarlyStopping(patience=2)
    best_copy = None
    for epoch, val_loss in enumerate([0.9, 0.6, 0.7, 0.8]):
        x = rng.standard_normal((8, 3)) * (epoch + 1)   # moves the running statistics too
        model.backward(rng.standard_normal(model(x).shape))
        opt.step()
        stopper.update(val_loss, model)
        if epoch == 1:
            best_copy = {k: v.copy() for k, v in model.state_dict().items()}
    final = model.state_dict()
    assert not np.array_equal(final["1.running_mean"], best_copy["1.running_mean"])
    assert not np.array_equal(final["0.W"], best_copy["0.W"])

    stopper.restore(model)
    restored = model.state_dict()
    assert restored.keys() == best_copy.keys()
    for name in best_copy:
        np.testing.assert_array_equal(restored[name], best_copy[name], err_msg=name)
    # restored in place: the optimizer still updates the model's own arrays
    current = [p.value for p in model.parameters()] + list(model.buffers().values())
    assert all(a is b for a, b in zip(current, arrays))


@pytest.mark.parametrize("kwargs, match", [
    ({"patience": 0}, "patience"),
    ({"patience": 2.5}, "patience"),
    ({"min_delta": -0.1}, "min_delta"),
    ({"mode": "maximize"}, "mode"),
])
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)
