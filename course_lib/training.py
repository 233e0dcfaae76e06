"""Training: the mini-batch loop that ties a model, a loss and an optimizer together.

    history = fit(model, X, y, optimizer="adam", lr=1e-3, epochs=20, batch_size=64,
                  validation_data=(X_val, y_val), early_stopping=5, seed=0)

Each epoch shuffles the training set (seeded), and for every mini-batch runs forward, loss,
backward and an optimizer step; then it evaluates on the validation set in eval mode, steps the
learning-rate schedule, and asks early stopping whether to go on. ``fit`` returns a ``History``
of per-epoch losses, accuracies and learning rates. ``MLPClassifier`` wraps all of this behind
scikit-learn's fit/predict interface, which is what model selection code wants.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from . import losses as losses_module
from .activations import softmax
from .data import iterate_minibatches
from .model_selection import train_test_split
from .nn import Module, Sequential, mlp
from .optim import OPTIMIZERS, Optimizer
from .regularization import EarlyStopping
from ._validation import as_float_array

# Losses whose targets are class labels, so that accuracy means something.
CLASSIFICATION_LOSSES = {"softmax_cross_entropy", "multiclass_hinge",
                         "binary_cross_entropy_with_logits"}


@dataclass
class History:
    """Per-epoch record of a training run; ``history["val_loss"]`` gives one column.

    ``train_loss`` and ``train_accuracy`` average the mini-batches of the epoch as they were
    trained on (in training mode, while the parameters moved): cheap, and the usual convention,
    but not the loss of the final parameters, which ``evaluate`` gives.
    """
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def __getitem__(self, column: str) -> list:
        return getattr(self, column)

    def __len__(self) -> int:
        return len(self.epoch)


def _resolve_loss(loss, classification: bool | None = None):
    """(loss function, whether accuracy applies); ``classification`` overrides the guess, which
    a loss function of one's own needs (its name says nothing)."""
    if callable(loss):
        function, name = loss, getattr(loss, "__name__", "")
    elif loss in losses_module.LOSSES:
        function, name = losses_module.LOSSES[loss], loss
    else:
        raise ValueError(f"unknown loss {loss!r}; choose from {sorted(losses_module.LOSSES)}")
    return function, (name in CLASSIFICATION_LOSSES if classification is None else classification)


def _accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    if scores.ndim == 1 or scores.shape[1] == 1:  # one logit per example: binary
        return float(np.mean((scores.reshape(y.shape) > 0) == (y > 0.5)))
    return float(np.mean(scores.argmax(axis=1) == y))


def predict(model: Module, X, batch_size: int = 1024) -> np.ndarray:
    """Model outputs (scores) for X (N, D), in eval mode, batch by batch. Restores the mode."""
    was_training = model.training
    model.eval()
    try:
        X = as_float_array(X, "X", ndim=2)
        return np.concatenate([model.forward(X[i:i + batch_size])
                               for i in range(0, len(X), batch_size)])
    finally:
        model.train(was_training)


def evaluate(model: Module, X, y, loss="softmax_cross_entropy", batch_size: int = 1024,
             classification: bool | None = None):
    """Return (mean loss, accuracy) of the model on (X, y); accuracy is None for regression
    (see ``fit`` for ``classification``)."""
    loss_fn, is_classification = _resolve_loss(loss, classification)
    scores = predict(model, X, batch_size)
    value, _ = loss_fn(scores, y)
    return value, (_accuracy(scores, np.asarray(y)) if is_classification else None)


def fit(model: Module, X, y, *, loss="softmax_cross_entropy", optimizer="sgd", lr: float = 0.1,
        weight_decay: float = 0.0, epochs: int = 10, batch_size: int = 32,
        validation_data=None, early_stopping=None, schedule=None, seed=None,
        progress: bool | None = None, classification: bool | None = None) -> History:
    """Train ``model`` on X (N, D) and y (N,) or (N, K) with mini-batch gradient descent.

    - ``loss``: a name from ``course_lib.losses.LOSSES`` or a function (scores, y) -> (loss, grad).
    - ``optimizer``: a name from ``course_lib.optim.OPTIMIZERS`` (built with ``lr`` and
      ``weight_decay``) or an ``Optimizer`` already built on ``model.parameters()``.
    - ``validation_data``: (X_val, y_val), evaluated after every epoch in eval mode.
    - ``early_stopping``: an ``EarlyStopping`` or an int patience (monitors validation loss);
      at the end the best parameters are restored.
    - ``schedule``: a learning-rate schedule built on the optimizer; ``schedule.step(metric)``
      is called once per epoch with the validation loss (or training loss without validation).
    - ``seed``: fixes the order of mini-batches (the model's own seed fixes its initialization).
    - ``progress``: a tqdm bar over epochs; by default shown only on a terminal.
    - ``classification``: whether to record accuracy; guessed from the loss's name by default.
    """
    loss_fn, is_classification = _resolve_loss(loss, classification)
    X = as_float_array(X, "X", ndim=2)
    y = np.asarray(y)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} examples but y has {len(y)}")
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; choose from {sorted(OPTIMIZERS)}")
        optimizer = OPTIMIZERS[optimizer](model.parameters(), lr=lr, weight_decay=weight_decay)
    elif not isinstance(optimizer, Optimizer):
        raise TypeError("optimizer must be a name or a course_lib.optim.Optimizer")
    if isinstance(early_stopping, int):
        early_stopping = EarlyStopping(patience=early_stopping)
    if early_stopping is not None and validation_data is None:
        raise ValueError("early stopping monitors the validation loss: pass validation_data")

    # Nobody needs the gradient with respect to the data: a Sequential model then skips its
    # first layer's dL/dx, as costly as that layer's dW (PyTorch skips it too).
    backward_options = {"input_grad": False} if isinstance(model, Sequential) else {}
    rng = np.random.default_rng(seed)
    history = History()
    model.train()
    bar = tqdm(range(1, epochs + 1), desc="epochs", unit="epoch",
               disable=None if progress is None else not progress)
    for epoch in bar:
        start = time.perf_counter()
        total_loss = total_correct = 0.0
        for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle=True, seed=rng):
            # A diverging run overflows somewhere inside the network or the loss; rather than a
            # stream of numpy warnings, stop at the first batch that is no longer finite.
            with np.errstate(over="ignore", invalid="ignore"):
                scores = model.forward(Xb)
                value, dscores = (loss_fn(scores, yb) if np.isfinite(scores).all()
                                  else (np.inf, None))
                if not np.isfinite(value):
                    raise FloatingPointError(
                        f"training diverged in epoch {epoch}: the loss is no longer finite; "
                        f"lower the learning rate (now {optimizer.lr:g})")
                model.backward(dscores, **backward_options)
                optimizer.step()
            total_loss += value * len(Xb)
            if is_classification:
                total_correct += _accuracy(scores, yb) * len(Xb)
        history.epoch.append(epoch)
        history.train_loss.append(total_loss / len(X))
        history.train_accuracy.append(total_correct / len(X) if is_classification else None)
        history.lr.append(optimizer.lr)
        monitored = history.train_loss[-1]
        if validation_data is not None:
            val_loss, val_acc = evaluate(model, *validation_data, loss=loss,
                                        classification=is_classification)
            history.val_loss.append(val_loss)
            history.val_accuracy.append(val_acc)
            monitored = val_loss
        history.seconds.append(time.perf_counter() - start)
        bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}",
                        **({"val_loss": f"{monitored:.4f}"} if validation_data else {}))
        if schedule is not None:
            schedule.step(monitored)
        if early_stopping is not None and early_stopping.update(monitored, model):
            history.stopped_early = True
            break
    bar.close()
    if early_stopping is not None:
        early_stopping.restore(model)
        history.best_epoch = early_stopping.best_epoch
    return history


class MLPClassifier:
    """A multilayer perceptron classifier with scikit-learn's interface.

    ``fit(X, y)`` builds ``course_lib.nn.mlp([D, *hidden, C])`` and trains it with softmax
    cross-entropy; ``predict_proba`` (N, C), ``predict`` (N,), ``score`` (accuracy). Every
    hyperparameter is a constructor argument, so grid and random search can set them by name.
    """

    def __init__(self, hidden=(100,), activation="relu", optimizer="adam", lr=1e-3,
                 weight_decay=0.0, epochs=20, batch_size=64, dropout=0.0, batchnorm=False,
                 early_stopping=None, validation_fraction=0.1, seed=None, progress=False):
        self.hidden, self.activation, self.optimizer, self.lr = hidden, activation, optimizer, lr
        self.weight_decay, self.epochs, self.batch_size = weight_decay, epochs, batch_size
        self.dropout, self.batchnorm = dropout, batchnorm
        self.early_stopping, self.validation_fraction = early_stopping, validation_fraction
        self.seed, self.progress = seed, progress

    def fit(self, X, y, validation_data=None):
        X = as_float_array(X, "X", ndim=2)
        y = np.asarray(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        rng = np.random.default_rng(self.seed)
        if self.early_stopping and validation_data is None:
            X, X_val, y_index, y_val = train_test_split(
                X, y_index, test_size=self.validation_fraction, stratify=True, seed=rng)
            validation_data = (X_val, y_val)
        elif validation_data is not None:
            validation_data = (validation_data[0],
                               np.searchsorted(self.classes_, validation_data[1]))
        self.model_ = mlp([X.shape[1], *self.hidden, len(self.classes_)], self.activation,
                          dropout=self.dropout, batchnorm=self.batchnorm, seed=rng)
        self.history_ = fit(self.model_, X, y_index, optimizer=self.optimizer, lr=self.lr,
                            weight_decay=self.weight_decay, epochs=self.epochs,
                            batch_size=self.batch_size, validation_data=validation_data,
                            early_stopping=self.early_stopping, seed=rng,
                            progress=self.progress)
        return self

    def decision_function(self, X) -> np.ndarray:
        return predict(self.model_, X)

    def predict_proba(self, X) -> np.ndarray:
        return softmax(self.decision_function(X))

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.decision_function(X).argmax(axis=1)]

    def score(self, X, y) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))
