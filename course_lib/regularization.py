"""Regularization: the L2 penalty and early stopping.

L2 regularization adds (lam / 2) * sum ||W||^2 over the weight matrices to the training loss,
which pulls every weight towards zero in proportion to its size and so prefers networks with
small weights, whose functions vary slowly. Its gradient lam * W added to the loss gradient
is exactly what an optimizer's ``weight_decay=lam`` adds (``course_lib.optim``); for SGD the
step becomes w <- (1 - lr * lam) * w - lr * g, which shrinks ("decays") the weights by a
constant factor each step, hence the name weight decay. Biases are not penalized by default.

Early stopping chooses the number of epochs with the validation set: keep training while the
validation metric improves, look ``patience`` epochs ahead after the best one to see whether
it improves again, then stop and go back to the best model.
"""
from __future__ import annotations

import math

import numpy as np

from ._validation import check_count, check_number


def l2_penalty(params, weight_decay: float, include_all: bool = False):
    """The L2 penalty (weight_decay / 2) * sum ||p.value||^2 and its gradients.

    ``params`` is a list of ``Parameter`` (``model.parameters()``); only those with
    ``p.decay`` True (weights, not biases or batch-norm parameters) are penalized, unless
    ``include_all`` is True. Returns ``(value, grads)``: the penalty as a float and a list
    aligned with ``params`` whose i-th entry, of the shape of ``params[i].value``, is
    weight_decay * p.value for a penalized parameter and zeros otherwise.

    Adding these gradients to the loss gradients before an update is the same as passing
    ``weight_decay`` to an optimizer of ``course_lib.optim``, which adds weight_decay * w to
    the gradient of the same parameters (for any of its update rules, not only SGD). AdamW's
    "decoupled" weight decay, which shrinks w outside Adam's per-coordinate scaling, is a
    different method that this library does not implement.
    """
    weight_decay = check_number(weight_decay, "weight_decay", low=0.0)
    value, grads = 0.0, []
    for p in params:
        if include_all or p.decay:
            value += float(np.vdot(p.value, p.value))
            grads.append(weight_decay * p.value)
        else:
            grads.append(np.zeros_like(p.value))
    return 0.5 * weight_decay * value, grads


class EarlyStopping:
    """Stop training when the validation metric has not improved for ``patience`` epochs.

    Call ``update(metric, model)`` once per epoch with the validation metric; it returns True
    when training should stop. Every improvement stores a copy of ``model.state_dict()``
    (parameters and buffers such as batch-norm running statistics), and ``restore(model)``
    loads that best state back. ``mode="min"`` is for losses (lower is better), ``"max"`` for
    accuracies. A metric improves when it beats the best so far by more than ``min_delta``
    >= 0 (a NaN never does); the first finite metric always improves.

    Attributes: ``epoch`` (number of ``update`` calls so far; epochs count from 1),
    ``best_epoch`` (the epoch that gave ``best_metric``, None before any), ``best_metric``,
    ``epochs_without_improvement``, ``best_state`` (the stored state dict).

    With patience=3 and validation losses 0.9, 0.7, 0.8, 0.75, 0.72 the best epoch is 2 and
    ``update`` returns True at epoch 5, three epochs after the best.
    """

    def __init__(self, patience: int = 10, min_delta: float = 0.0, mode: str = "min"):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' (for a loss) or 'max' (for an accuracy), "
                             f"got {mode!r}")
        self.patience = check_count(patience, "patience")
        self.min_delta = check_number(min_delta, "min_delta", low=0.0)
        self.mode = mode
        self.best_metric = math.inf if mode == "min" else -math.inf
        self.best_epoch = None
        self.best_state = None
        self.epoch = 0
        self.epochs_without_improvement = 0

    def _improves(self, metric: float) -> bool:
        if self.mode == "min":
            return metric < self.best_metric - self.min_delta
        return metric > self.best_metric + self.min_delta

    def update(self, metric: float, model) -> bool:
        """Record this epoch's validation ``metric`` for ``model``; True means stop."""
        metric = float(metric)
        self.epoch += 1
        if self._improves(metric):
            self.best_metric, self.best_epoch = metric, self.epoch
            self.best_state = model.state_dict()
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        return self.epochs_without_improvement >= self.patience

    def restore(self, model) -> None:
        """Load the best parameters and buffers back into ``model``, in place."""
        if self.best_state is None:
            raise RuntimeError("no best model to restore: update() has not yet seen a "
                               "finite metric")
        model.load_state_dict(self.best_state)
