"""The single neuron, three ways: threshold logic unit, perceptron, logistic neuron.

All three compute a weighted sum of the inputs plus a bias, z = x . w + b, and differ in what
they do with it and how they get w and b:

- the threshold logic unit (McCulloch & Pitts, 1943) outputs 1[z >= 0] with weights set by
  hand, enough for the gates and, or, not, but no single unit computes xor;
- the perceptron (Rosenblatt, 1957) has the same output and learns w and b from mistakes, which
  succeeds in finitely many updates exactly when the two classes are linearly separable;
- the logistic neuron outputs sigma(z) = P(y = 1 | x) and is trained by gradient descent on the
  logit loss; its step output has no useful derivative, the sigmoid does.

Shapes: X (N, D) holds one example per row; labels y (N,) are 0 or 1.
"""
from __future__ import annotations

import numpy as np

from .activations import sigmoid, step
from .losses import binary_cross_entropy_with_logits
from ._validation import as_float_array, check_finite, check_labels, check_width


def _check_data(X, y, owner: str):
    """X as finite floats (N, D) with N >= 1; y as integer labels (N,) in {0, 1}."""
    X = as_float_array(X, "X", ndim=2)
    if X.shape[0] == 0:
        raise ValueError(f"{owner} needs at least one example, got X of shape {X.shape}")
    check_finite(X, "X")
    y = np.asarray(y)
    return X, check_labels(y.astype(np.intp) if y.dtype == bool else y, X.shape[0], 2)


class ThresholdUnit:
    """A threshold logic unit with fixed weights: predict(X) = 1[X @ weights + bias >= 0].

    weights (D,), bias a number. X (N, D) -> predictions (N,) in {0, 1}.
    """

    def __init__(self, weights, bias: float):
        self.weights = as_float_array(weights, "weights", ndim=1)
        self.bias = float(bias)

    def predict(self, X) -> np.ndarray:
        X = as_float_array(X, "X", ndim=2)
        check_width(X, self.weights.size, "X", repr(self))
        return step(X @ self.weights + self.bias).astype(np.intp)

    def __repr__(self):
        return f"ThresholdUnit(weights={self.weights.tolist()}, bias={self.bias})"


def and_gate() -> ThresholdUnit:
    """and(a, b) = 1[a + b - 1.5 >= 0]: both inputs must be on."""
    return ThresholdUnit([1.0, 1.0], -1.5)


def or_gate() -> ThresholdUnit:
    """or(a, b) = 1[a + b - 0.5 >= 0]: one input on is enough."""
    return ThresholdUnit([1.0, 1.0], -0.5)


def not_gate() -> ThresholdUnit:
    """not(a) = 1[-a + 0.5 >= 0]: a negative weight turns an excitatory input inhibitory."""
    return ThresholdUnit([-1.0], 0.5)


def nand_gate() -> ThresholdUnit:
    """nand(a, b) = not(and(a, b)) = 1[-a - b + 1.5 >= 0]."""
    return ThresholdUnit([-1.0, -1.0], 1.5)


class ThresholdNetwork:
    """Layers of threshold units: the outputs of one layer are the inputs of the next.

    ``layers`` are lists of units; layer k + 1's units take as many inputs as layer k has
    units. X (N, D) -> predictions (N, units of the last layer), or (N,) for a single unit.
    """

    def __init__(self, *layers: list[ThresholdUnit]):
        self.layers = layers

    def predict(self, X) -> np.ndarray:
        h = as_float_array(X, "X", ndim=2)
        for layer in self.layers:
            h = np.column_stack([unit.predict(h) for unit in layer])
        return h[:, 0] if h.shape[1] == 1 else h


def xor_network() -> ThresholdNetwork:
    """xor(a, b) = and(or(a, b), nand(a, b)): one hidden layer computes what one unit cannot,
    since no line separates {(0, 1), (1, 0)} from {(0, 0), (1, 1)}."""
    return ThresholdNetwork([or_gate(), nand_gate()], [and_gate()])


class _LinearBinaryClassifier:
    """What the perceptron and the logistic neuron share: z = X @ coef_ + intercept_."""

    def decision_function(self, X) -> np.ndarray:
        """The weighted sums z (N,) for X (N, D): positive means class 1."""
        if not hasattr(self, "coef_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet: call fit(X, y)")
        X = as_float_array(X, "X", ndim=2)
        check_width(X, self.coef_.size, "X", type(self).__name__)
        return X @ self.coef_ + self.intercept_

    def predict(self, X) -> np.ndarray:
        """Labels (N,) in {0, 1}: 1 where the weighted sum is >= 0."""
        return step(self.decision_function(X)).astype(np.intp)


def perceptron_update(w, b: float, x, y: int, lr: float = 1.0):
    """One step of the perceptron rule on one example x (D,) with label y in {0, 1}.

    Returns (w + lr (y - yhat) x, b + lr (y - yhat), mistake) where yhat = 1[x . w + b >= 0]
    and mistake = (yhat != y); w is not modified (the new weights are a new array).
    """
    error = y - (1 if x @ w + b >= 0 else 0)  # -1, 0 or +1
    return w + lr * error * x, b + lr * error, bool(error)


class Perceptron(_LinearBinaryClassifier):
    """Rosenblatt's perceptron: a threshold unit that learns from its mistakes.

    ``fit`` visits the examples one at a time (in a new random order each epoch when
    ``shuffle``, drawn from ``seed``) and applies the perceptron rule

        w <- w + lr (y_i - yhat_i) x_i,    b <- b + lr (y_i - yhat_i),

    which changes nothing when yhat_i = y_i and otherwise moves the boundary toward classifying
    x_i correctly. Starting from w = 0, b = 0, it stops after the first epoch without mistakes
    or after ``max_epochs``.

    Attributes after fit: ``coef_`` (D,), ``intercept_`` (float), ``errors_per_epoch_`` (list of
    mistakes made during each epoch), ``n_updates_`` (total mistakes), ``converged_`` (True when
    the last epoch made none, i.e. the training data are classified perfectly).
    """

    def __init__(self, lr: float = 1.0, max_epochs: int = 100, seed=None, shuffle: bool = True):
        if lr <= 0 or max_epochs < 1:
            raise ValueError(f"need lr > 0 and max_epochs >= 1, got lr={lr}, "
                             f"max_epochs={max_epochs}")
        self.lr, self.max_epochs, self.seed, self.shuffle = lr, max_epochs, seed, shuffle

    def fit(self, X, y) -> "Perceptron":
        """Learn w and b from X (N, D) and labels y (N,) in {0, 1}; returns self."""
        X, y = _check_data(X, y, "Perceptron")
        rng = np.random.default_rng(self.seed)
        w, b = np.zeros(X.shape[1]), 0.0
        self.errors_per_epoch_ = []
        for _ in range(self.max_epochs):
            order = rng.permutation(len(X)) if self.shuffle else range(len(X))
            errors = 0
            for i in order:
                w, b, mistake = perceptron_update(w, b, X[i], y[i], self.lr)
                errors += mistake
            self.errors_per_epoch_.append(errors)
            if errors == 0:
                break
        self.coef_, self.intercept_ = w, b
        self.n_updates_ = sum(self.errors_per_epoch_)
        self.converged_ = self.errors_per_epoch_[-1] == 0
        return self


class LogisticNeuron(_LinearBinaryClassifier):
    """A logistic unit P(y = 1 | x) = sigma(x . w + b) trained by gradient descent.

    The objective is the mean logit loss (``losses.binary_cross_entropy_with_logits``) plus the
    L2 penalty (weight_decay / 2) ||w||^2 (the bias is not penalized). Each of the ``n_epochs``
    epochs takes one step on the whole training set when ``batch_size`` is None, else one step
    per mini-batch of a fresh random split (drawn from ``seed``). Weights start at zero.

    Attributes after fit: ``coef_`` (D,), ``intercept_`` (float), ``loss_history_`` (list of
    n_epochs + 1 objective values on the whole training set: before training, then after each
    epoch).
    """

    def __init__(self, lr: float = 0.1, n_epochs: int = 200, batch_size: int | None = None,
                 weight_decay: float = 0.0, seed=None):
        bad_batch = batch_size is not None and batch_size < 1
        if lr <= 0 or n_epochs < 0 or weight_decay < 0 or bad_batch:
            raise ValueError(f"need lr > 0, n_epochs >= 0, weight_decay >= 0 and batch_size "
                             f"None or >= 1, got lr={lr}, n_epochs={n_epochs}, "
                             f"weight_decay={weight_decay}, batch_size={batch_size}")
        self.lr, self.n_epochs, self.batch_size = lr, n_epochs, batch_size
        self.weight_decay, self.seed = weight_decay, seed

    def loss_gradient(self, X, y):
        """Objective at the current ``coef_``, ``intercept_`` on X (N, D), y (N,), with its
        gradient: returns (loss, dcoef (D,), dintercept)."""
        X = as_float_array(X, "X", ndim=2)
        z = self.decision_function(X)
        loss, dz = binary_cross_entropy_with_logits(z, np.asarray(y, dtype=np.float64))
        w = self.coef_
        loss += 0.5 * self.weight_decay * (w @ w)
        return loss, X.T @ dz + self.weight_decay * w, float(dz.sum())

    def fit(self, X, y) -> "LogisticNeuron":
        """Learn w and b from X (N, D) and labels y (N,) in {0, 1}; returns self."""
        X, y = _check_data(X, y, "LogisticNeuron")
        rng = np.random.default_rng(self.seed)
        self.coef_, self.intercept_ = np.zeros(X.shape[1]), 0.0
        self.loss_history_ = [self.loss_gradient(X, y)[0]]
        batch = len(X) if self.batch_size is None else self.batch_size
        for _ in range(self.n_epochs):
            order = np.arange(len(X)) if self.batch_size is None else rng.permutation(len(X))
            for start in range(0, len(X), batch):
                rows = order[start:start + batch]
                _, dw, db = self.loss_gradient(X[rows], y[rows])
                self.coef_ -= self.lr * dw
                self.intercept_ -= self.lr * db
            self.loss_history_.append(self.loss_gradient(X, y)[0])
        return self

    def predict_proba(self, X) -> np.ndarray:
        """P(y = 1 | x) for each row of X (N, D): shape (N,)."""
        return sigmoid(self.decision_function(X))
