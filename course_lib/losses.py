"""Loss functions: each returns ``(loss, grad)``.

``loss`` is the mean over the N examples of a batch (a Python float) and ``grad`` is its
gradient with respect to the model's output, of the same shape as that output, ready to be
passed to the last layer's backward. Averaging over the batch (rather than summing) keeps the
learning rate meaningful whatever the batch size.

Classification losses take raw scores (logits), never probabilities: the log of a softmax or a
sigmoid is computed in one stable expression (log-sum-exp, softplus), which neither overflows
for large scores nor takes the log of an underflowed zero.
"""
from __future__ import annotations

import numpy as np

from .activations import sigmoid
from ._validation import as_float_array, check_finite, check_labels, check_same_shape


def _finite_or_explain(loss: float, **inputs) -> float:
    # Checking the scalar result is free; only when it is bad do we pay to find the culprit.
    if not np.isfinite(loss):
        for name, value in inputs.items():
            check_finite(value, name)
    return float(loss)


def softmax_cross_entropy(logits, y):
    """Cross-entropy of softmax(logits) against integer labels.

    Shapes: logits (N, C), y (N,) with values in [0, C). Returns (loss, dlogits (N, C)).

        loss = -(1/N) sum_i log softmax(logits_i)[y_i]
             = (1/N) sum_i [logsumexp(logits_i) - logits_i[y_i]]
        dlogits = (softmax(logits) - onehot(y)) / N
    """
    logits = as_float_array(logits, "logits", ndim=2)
    n, c = logits.shape
    y = check_labels(y, n, c)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    rows = np.arange(n)
    loss = np.mean(np.log(sum_exp[:, 0]) - shifted[rows, y])
    loss = _finite_or_explain(loss, logits=logits)
    grad = exp
    grad /= sum_exp
    grad[rows, y] -= 1.0
    grad /= n
    return loss, grad


def binary_cross_entropy_with_logits(logits, y):
    """Logistic (logit) loss for binary labels y in {0, 1}.

    Shapes: logits (N,) or (N, 1), y (N,) or the shape of logits. Returns (loss, dlogits).

        loss = (1/N) sum_i [softplus(z_i) - y_i z_i]
             = -(1/N) sum_i [y_i log sigma(z_i) + (1 - y_i) log(1 - sigma(z_i))]
        dlogits = (sigma(z) - y) / N

    With labels t in {-1, +1} this is the lectures' -log sigma(t z), since t = 2y - 1.
    """
    z = as_float_array(logits, "logits", ndim=(1, 2))
    y = as_float_array(y, "y")
    if z.ndim == 2 and z.shape[1] == 1 and y.shape == z.shape[:1]:
        y = y[:, None]  # labels (N,) for a model with one output unit (N, 1)
    check_same_shape(y, z, "y", "logits")
    if y.size and not np.all((y == 0) | (y == 1)):
        bad = y[(y != 0) & (y != 1)][0]
        raise ValueError(f"y must hold binary labels 0 or 1, got {bad}")
    n = z.shape[0]
    # softplus(z) - y z written as max(z, 0) - y z + log1p(e^{-|z|}): the first two terms
    # cancel exactly (for y = 1, z > 0), so no precision is lost to subtracting large numbers.
    per_example = np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z)))
    loss = _finite_or_explain(np.sum(per_example) / n, logits=z)
    return loss, (sigmoid(z) - y) / n


def mean_squared_error(pred, target):
    """Mean squared error over all entries: mean((pred - target)^2).

    Shapes: pred and target the same, (N,) or (N, D). Returns (loss, dpred).
    dpred = 2 (pred - target) / pred.size.
    """
    pred = as_float_array(pred, "pred", ndim=(1, 2))
    target = as_float_array(target, "target")
    check_same_shape(target, pred, "target", "pred")
    diff = pred - target
    loss = _finite_or_explain(np.mean(diff * diff), pred=pred, target=target)
    return loss, (2.0 / diff.size) * diff


def multiclass_hinge(scores, y, margin: float = 1.0):
    """Multiclass SVM (hinge) loss of Weston & Watkins / CS231n.

    Shapes: scores (N, C), y (N,). Returns (loss, dscores (N, C)).

        loss = (1/N) sum_i sum_{j != y_i} max(0, s_ij - s_i,y_i + margin)

    Each violating class j gets gradient +1/N and the true class -1/N per violator.
    """
    scores = as_float_array(scores, "scores", ndim=2)
    n, c = scores.shape
    y = check_labels(y, n, c)
    rows = np.arange(n)
    margins = scores - scores[rows, y][:, None] + margin
    margins[rows, y] = 0.0
    np.maximum(margins, 0.0, out=margins)
    loss = _finite_or_explain(margins.sum() / n, scores=scores)
    grad = (margins > 0).astype(scores.dtype)
    grad[rows, y] = -grad.sum(axis=1)
    grad /= n
    return loss, grad


LOSSES = {
    "softmax_cross_entropy": softmax_cross_entropy,
    "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "mean_squared_error": mean_squared_error,
    "multiclass_hinge": multiclass_hinge,
}
