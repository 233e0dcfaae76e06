"""Optimizers and learning-rate schedules.

An optimizer turns gradients into parameter updates. It holds a list of
``course_lib.nn.Parameter`` objects and, after each backward pass, moves every ``p.value``
using ``p.grad`` and whatever it remembers from earlier steps (a velocity, running averages
of squared gradients):

    optimizer = Adam(model.parameters(), lr=1e-3)
    for xb, yb in batches:
        loss, dscores = cross_entropy(model(xb), yb)
        model.backward(dscores)      # writes every p.grad
        optimizer.step()             # updates every p.value in place

Updates happen IN PLACE: the model, the optimizer and early stopping all hold references to
the same arrays, so an optimizer never rebinds ``p.value``. Every update is written with
numpy's ``out=`` arguments into scratch arrays allocated once, so a step allocates no new
arrays, and parameters keep their dtype (float32 stays float32).

Notation in the docstrings: w is a parameter, g its gradient, lr the learning rate; all
operations on arrays are elementwise.

L2 weight decay. With ``weight_decay=lam`` the gradient used in the update is g + lam * w,
the gradient of the penalty (lam / 2) ||w||^2 added to the loss (see
``course_lib.regularization.l2_penalty``). It applies only to parameters whose ``p.decay`` is
True, weights by default: decaying biases or batch-norm gains and shifts does not reduce
overfitting and can hurt. ``decay_all=True`` decays every parameter.

A learning-rate schedule changes ``optimizer.lr`` between epochs:

    schedule = StepDecay(optimizer, step_size=10, gamma=0.5)
    for epoch in range(n_epochs):
        ...train one epoch...
        schedule.step(val_loss)      # once per epoch; only HalveOnPlateau uses the metric
"""
from __future__ import annotations

import math

import numpy as np

from ._validation import ShapeError, check_count, check_number


class Optimizer:
    """Base class: holds the parameters, the learning rate and L2 weight decay.

    ``params`` is a non-empty list of ``Parameter`` objects (``model.parameters()``), each with
    a floating ``value`` array and a ``grad`` of the same shape; ``lr`` >= 0 is the learning
    rate, which schedules may change between steps; ``weight_decay`` >= 0 is the L2 coefficient
    lam, applied to parameters with ``p.decay`` True, or to all of them with ``decay_all=True``
    (both fixed when the optimizer is built). Subclasses implement ``_update(i, w, g, tmp)``: move the i-th parameter's value ``w``
    in place given its gradient ``g`` (weight decay already included) and a scratch array
    ``tmp`` of the same shape and dtype. Per-parameter state (velocities, averages) lives in
    lists of arrays aligned with ``params``.
    """

    def __init__(self, params, lr: float, weight_decay: float = 0.0, *, decay_all: bool = False):
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got an empty parameter list: pass "
                             "model.parameters() of a model that has parameters")
        for p in self.params:
            if not (hasattr(p, "value") and hasattr(p, "grad")):
                raise TypeError(f"optimizers update Parameter objects (with .value and .grad), "
                                f"got {type(p).__name__}")
            if not (isinstance(p.value, np.ndarray) and p.value.dtype.kind == "f"):
                raise TypeError(f"parameter {getattr(p, 'name', '?')} must hold a floating "
                                f"ndarray, got {getattr(p.value, 'dtype', type(p.value))}")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError("a parameter appears twice in the list; it would be updated twice")
        self.lr = lr
        self.weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
        self.decay_all = bool(decay_all)
        self._tmp = [np.empty_like(p.value) for p in self.params]
        # The decayed gradient g + lam * w goes into its own array: p.grad is left untouched.
        self._decayed = [np.empty_like(p.value) if self._decays(p) else None
                         for p in self.params]

    @property
    def lr(self) -> float:
        """The learning rate used by the next ``step()``."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_number(value, "lr", low=0.0)

    def _decays(self, p) -> bool:
        return self.weight_decay > 0.0 and (self.decay_all or getattr(p, "decay", True))

    def _state(self):
        """One zero array per parameter, with its shape and dtype (a fresh piece of state)."""
        return [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        """Update every parameter in place from its current ``.grad``."""
        for i, p in enumerate(self.params):
            g = p.grad
            if g.shape != p.value.shape:
                raise ShapeError(f"parameter {getattr(p, 'name', i)} has value of shape "
                                 f"{p.value.shape} but grad of shape {g.shape}")
            decayed = self._decayed[i]
            if decayed is not None:
                np.multiply(p.value, self.weight_decay, out=decayed)
                decayed += g
                g = decayed
            self._update(i, p.value, g, self._tmp[i])

    def _update(self, i: int, w: np.ndarray, g: np.ndarray, tmp: np.ndarray) -> None:
        raise NotImplementedError

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for p in self.params:
            p.grad.fill(0.0)


class SGD(Optimizer):
    """(Stochastic) gradient descent:  w <- w - lr * g.

    The simplest rule: a step of size lr down the gradient of the current mini-batch loss.
    Default lr = 0.01.
    """

    def __init__(self, params, lr: float = 0.01, weight_decay: float = 0.0, *,
                 decay_all: bool = False):
        super().__init__(params, lr, weight_decay, decay_all=decay_all)

    def _update(self, i, w, g, tmp):
        np.multiply(g, self.lr, out=tmp)
        w -= tmp


class Momentum(Optimizer):
    """Gradient descent with classical ("heavy ball") momentum, mu = ``momentum`` in [0, 1):

        v <- mu * v - lr * g
        w <- w + v

    The velocity v (zero at the start) is a decaying sum of past steps: where successive
    gradients agree it grows up to lr / (1 - mu) times the gradient (10 times for mu = 0.9),
    where they alternate in sign, as across a narrow valley, they cancel.
    Default lr = 0.01, momentum = 0.9.
    """

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.9,
                 weight_decay: float = 0.0, *, decay_all: bool = False):
        super().__init__(params, lr, weight_decay, decay_all=decay_all)
        self.momentum = check_number(momentum, "momentum", low=0.0, high=1.0)
        self.velocities = self._state()

    def _update(self, i, w, g, tmp):
        v = self.velocities[i]
        v *= self.momentum
        np.multiply(g, self.lr, out=tmp)
        v -= tmp
        w += v


class Nesterov(Momentum):
    """Nesterov's accelerated gradient, mu = ``momentum`` in [0, 1).

    Nesterov momentum (in the form of Sutskever et al., 2013) evaluates the gradient at the
    look-ahead point w + mu * v that momentum is about to carry the weights to:

        v <- mu * v - lr * grad(w + mu * v),    w <- w + v.

    Backpropagation gives the gradient at the current weights only, so, as PyTorch's
    ``nesterov=True`` does, we store the look-ahead point itself as the weights. The update
    then needs only the gradient g at the current weights:

        v <- mu * v - lr * g
        w <- w + mu * v - lr * g

    i.e. a momentum step followed by a further step of mu * v in the new direction.
    Default lr = 0.01, momentum = 0.9.
    """

    def _update(self, i, w, g, tmp):
        v = self.velocities[i]
        np.multiply(g, self.lr, out=tmp)  # tmp = lr * g
        v *= self.momentum
        v -= tmp
        w -= tmp
        np.multiply(v, self.momentum, out=tmp)
        w += tmp


class AdaGrad(Optimizer):
    """AdaGrad (Duchi et al., 2011): a learning rate per coordinate.

        G <- G + g * g
        w <- w - lr * g / (sqrt(G) + eps)

    G (zero at the start) accumulates squared gradients, so coordinates with large or
    frequent gradients take smaller steps. Because G only grows, the effective learning rate
    keeps shrinking, which can stop training too early. ``eps`` > 0 avoids division by zero.
    Default lr = 0.01, eps = 1e-8.
    """

    def __init__(self, params, lr: float = 0.01, eps: float = 1e-8,
                 weight_decay: float = 0.0, *, decay_all: bool = False):
        super().__init__(params, lr, weight_decay, decay_all=decay_all)
        self.eps = check_number(eps, "eps", low=0.0, low_open=True)
        self.sum_squares = self._state()

    def _update(self, i, w, g, tmp):
        G = self.sum_squares[i]
        np.multiply(g, g, out=tmp)
        G += tmp
        np.sqrt(G, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        w -= tmp


class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton, 2012): AdaGrad with a moving average, rho = ``rho``:

        S <- rho * S + (1 - rho) * g * g
        w <- w - lr * g / (sqrt(S) + eps)

    S (zero at the start) is an exponential moving average of squared gradients, which
    forgets old gradients (over roughly 1 / (1 - rho) steps), so the step size does not decay
    to zero as AdaGrad's does. Default lr = 0.001, rho = 0.9, eps = 1e-8.
    """

    def __init__(self, params, lr: float = 0.001, rho: float = 0.9, eps: float = 1e-8,
                 weight_decay: float = 0.0, *, decay_all: bool = False):
        super().__init__(params, lr, weight_decay, decay_all=decay_all)
        self.rho = check_number(rho, "rho", low=0.0, high=1.0)
        self.eps = check_number(eps, "eps", low=0.0, low_open=True)
        self.mean_squares = self._state()

    def _update(self, i, w, g, tmp):
        S = self.mean_squares[i]
        S *= self.rho
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.rho
        S += tmp
        np.sqrt(S, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        w -= tmp


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): momentum and RMSProp together, with bias correction.

    At step t = 1, 2, ...

        m <- beta1 * m + (1 - beta1) * g            (first moment: a momentum)
        v <- beta2 * v + (1 - beta2) * g * g        (second moment: as in RMSProp)
        m_hat = m / (1 - beta1^t),   v_hat = v / (1 - beta2^t)
        w <- w - lr * m_hat / (sqrt(v_hat) + eps)

    m and v start at zero, so early on they underestimate the averages; dividing by
    1 - beta^t, the total weight of the average so far, removes that bias (at t = 1,
    m_hat = g and v_hat = g * g exactly). The step count t is shared by all parameters.
    Default lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1e-8.
    """

    def __init__(self, params, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0, *, decay_all: bool = False):
        super().__init__(params, lr, weight_decay, decay_all=decay_all)
        self.beta1 = check_number(beta1, "beta1", low=0.0, high=1.0)
        self.beta2 = check_number(beta2, "beta2", low=0.0, high=1.0)
        self.eps = check_number(eps, "eps", low=0.0, low_open=True)
        self.t = 0
        self.m = self._state()
        self.v = self._state()

    def step(self) -> None:
        self.t += 1
        super().step()

    def _update(self, i, w, g, tmp):
        m, v = self.m[i], self.v[i]
        m *= self.beta1
        np.multiply(g, 1.0 - self.beta1, out=tmp)
        m += tmp
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.beta2
        v += tmp
        # The bias corrections c1 = 1 - beta1^t, c2 = 1 - beta2^t are scalars; folding them
        # into two scalars saves passes over the arrays:
        # lr * m_hat / (sqrt(v_hat) + eps) = (lr sqrt(c2) / c1) * m / (sqrt(v) + eps sqrt(c2)).
        root_c2 = math.sqrt(1.0 - self.beta2 ** self.t)
        np.sqrt(v, out=tmp)
        tmp += self.eps * root_c2
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr * root_c2 / (1.0 - self.beta1 ** self.t)
        w -= tmp


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adagrad": AdaGrad,
              "rmsprop": RMSProp, "adam": Adam}


# --- learning-rate schedules ------------------------------------------------------------------

class LRSchedule:
    """Base class of learning-rate schedules.

    A schedule owns no learning rate of its own: it sets ``optimizer.lr``. Call
    ``schedule.step(metric=None)`` once at the end of every epoch; ``metric`` is the
    validation loss, used only by ``HalveOnPlateau``. ``schedule.lr`` is the current learning
    rate, ``schedule.epoch`` the number of ``step`` calls so far, ``schedule.initial_lr`` the
    optimizer's lr when the schedule was created. The closed-form schedules set
    lr = initial_lr * factor(epoch), so after k epochs the learning rate is f(k).
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"a schedule needs an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.initial_lr = optimizer.lr
        self.epoch = 0

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def step(self, metric=None) -> None:
        self.epoch += 1
        self.optimizer.lr = self.initial_lr * self._factor(self.epoch)

    def _factor(self, epoch: int) -> float:
        raise NotImplementedError


class StepDecay(LRSchedule):
    """lr = initial_lr * gamma ** (epoch // step_size): multiply by ``gamma`` in (0, 1] every
    ``step_size`` epochs (e.g. step_size=10, gamma=0.5 halves lr every 10 epochs)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.5):
        super().__init__(optimizer)
        self.step_size = check_count(step_size, "step_size")
        self.gamma = check_number(gamma, "gamma", low=0.0, high=1.0, low_open=True,
                                   high_open=False)

    def _factor(self, epoch):
        return self.gamma ** (epoch // self.step_size)


class InverseTimeDecay(LRSchedule):
    """lr = initial_lr / (1 + decay * epoch), decay >= 0: large steps first, then ever smaller
    ones, slowly enough (the sum of the learning rates diverges) that SGD can still reach the
    minimum of a convex loss."""

    def __init__(self, optimizer: Optimizer, decay: float):
        super().__init__(optimizer)
        self.decay = check_number(decay, "decay", low=0.0)

    def _factor(self, epoch):
        return 1.0 / (1.0 + self.decay * epoch)


class ExponentialDecay(LRSchedule):
    """lr = initial_lr * gamma ** epoch, gamma in (0, 1]: multiply by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float):
        super().__init__(optimizer)
        self.gamma = check_number(gamma, "gamma", low=0.0, high=1.0, low_open=True,
                                   high_open=False)

    def _factor(self, epoch):
        return self.gamma ** epoch


class HalveOnPlateau(LRSchedule):
    """Multiply lr by ``factor`` (default: halve it) when the validation loss stops improving.

    ``step(val_loss)`` counts the epochs since the best validation loss so far; when that
    count reaches ``patience``, lr becomes max(lr * factor, min_lr) (never more than lr) and the count restarts, so
    the next cut comes at the earliest ``patience`` epochs later. A loss improves when it is
    below the best so far (a NaN loss never does). With patience=2 and losses 1.0, 0.9, 0.95,
    0.92, lr is halved at the fourth step. (PyTorch's ReduceLROnPlateau waits one epoch more.)
    """

    def __init__(self, optimizer: Optimizer, patience: int = 5, factor: float = 0.5,
                 min_lr: float = 0.0):
        super().__init__(optimizer)
        self.patience = check_count(patience, "patience")
        self.factor = check_number(factor, "factor", low=0.0, high=1.0, low_open=True)
        self.min_lr = check_number(min_lr, "min_lr", low=0.0)
        self.best = math.inf
        self.epochs_without_improvement = 0

    def step(self, metric=None) -> None:
        if metric is None:
            raise ValueError("HalveOnPlateau.step needs the validation loss: "
                             "call schedule.step(val_loss)")
        metric = float(metric)
        self.epoch += 1
        if metric < self.best:
            self.best = metric
            self.epochs_without_improvement = 0
            return
        self.epochs_without_improvement += 1
        if self.epochs_without_improvement >= self.patience:
            lr = self.optimizer.lr
            self.optimizer.lr = min(lr, max(lr * self.factor, self.min_lr))
            self.epochs_without_improvement = 0
