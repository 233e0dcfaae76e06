"""Diagnostics: what happens inside a network, layer by layer.

Glorot & Bengio (2010) looked inside deep networks at initialization and during training by
recording, for every hidden layer, the distribution of its activations and of the gradients
flowing back through it. Their pictures explain why deep sigmoid networks were hard to train:
the sigmoid's slope is at most 1/4, so each layer multiplies the back-propagated gradient by a
small factor and layers far from the output barely learn (the vanishing gradient problem);
tanh units with a well-scaled initialization keep the gradients at similar sizes in every layer.

    record = trace(model, X, y)          # one forward and one backward, recorded
    record.std("gradients")              # (L,) spread of dL/ds per hidden layer
    dead_fraction(record.activations[0])
    saturated_fraction(record.activations[0], "tanh")
    unit_spread(model[0].W.value)        # 0 when all units of the layer are identical

Notation for hidden layer l: pre-activation s_l (the input of the activation module) and
activation h_l = g(s_l) (its output).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import losses as losses_module
from .nn import Activation, Linear, Sequential
from ._validation import as_float_array

# The kinds of per-layer arrays a LayerTrace holds, in the order of the forward pass.
KINDS = ("activations", "gradients", "weight_gradients")


@dataclass
class LayerTrace:
    """Per-hidden-layer record of one forward (and backward) pass; L hidden layers.

    - ``names``: L labels such as "layer 1 (tanh)".
    - ``activations``: L arrays h_l of shape (N, H_l), the outputs of the activation modules.
    - ``gradients``: L arrays dL/ds_l of shape (N, H_l), the gradient of the loss with respect
      to each activation module's input (Glorot & Bengio's back-propagated gradients).
    - ``weight_gradients``: L arrays dL/dW of shape (fan_in, H_l), one for the last ``Linear``
      before each activation module (None if there is none).
    - ``loss``: the mean loss of the batch.
    The last three are empty (and ``loss`` is None) when ``trace`` was given no labels.
    """
    names: list[str] = field(default_factory=list)
    activations: list[np.ndarray] = field(default_factory=list)
    gradients: list[np.ndarray] = field(default_factory=list)
    weight_gradients: list[np.ndarray | None] = field(default_factory=list)
    loss: float | None = None

    def __len__(self) -> int:
        return len(self.names)

    def values(self, kind: str) -> list[np.ndarray]:
        """The L arrays of ``kind`` ("activations", "gradients" or "weight_gradients")."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; choose from {KINDS}")
        arrays = getattr(self, kind)
        if not arrays and kind != "activations":
            raise ValueError(f"this trace holds no {kind}: pass labels y to trace()")
        if any(a is None for a in arrays):
            raise ValueError(f"some hidden layer has no Linear layer before it, so no {kind}")
        return arrays

    def std(self, kind: str = "activations") -> np.ndarray:
        """Standard deviation of each layer's ``kind`` values over all entries: shape (L,)."""
        return np.array([np.std(a) for a in self.values(kind)])


def trace(model: Sequential, X, y=None, loss="softmax_cross_entropy") -> LayerTrace:
    """Run ``model`` on a batch X (N, D) module by module and record every hidden layer.

    A hidden layer is an ``nn.Activation`` module among ``model``'s top-level modules. With
    labels ``y`` (shaped as ``loss`` wants them), the loss is computed and back-propagated so
    that the gradients are recorded too. ``loss`` is a name from ``course_lib.losses.LOSSES``
    or a function (scores, y) -> (loss, dscores).

    The pass runs in the model's current mode: in training mode dropout draws fresh masks
    and batch normalization uses the batch's statistics, as during a training step; call
    ``model.eval()`` first to see the network as it predicts. Apart from advancing dropout's
    generator, tracing changes nothing: the parameters are only read, and their ``.grad``
    arrays and the batch-norm running statistics are put back afterwards, so a trace may sit
    between a backward and an optimizer step without affecting training.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"trace needs an nn.Sequential model, got {type(model).__name__}")
    if y is not None:
        loss_fn = loss if callable(loss) else losses_module.LOSSES.get(loss)
        if loss_fn is None:
            raise ValueError(f"unknown loss {loss!r}; choose from {sorted(losses_module.LOSSES)}")
    x = as_float_array(X, "X", ndim=2)
    saved_grads = [p.grad.copy() for p in model.parameters()]
    saved_buffers = {k: v.copy() for k, v in model.buffers().items()}
    record = LayerTrace()
    try:
        # Positions of the activation modules, and the Linear layer that feeds each one.
        hidden, feeding, last_linear = [], [], None
        for i, module in enumerate(model.modules):
            x = module.forward(x)
            if isinstance(module, Linear):
                last_linear = module
            elif isinstance(module, Activation):
                hidden.append(i)
                feeding.append(last_linear)
                record.names.append(f"layer {len(hidden)} ({module.name})")
                record.activations.append(x.copy())
        if not hidden:
            raise ValueError("the model has no nn.Activation module, so no hidden layer to trace")
        if y is None:
            return record

        record.loss, dout = loss_fn(x, y)
        gradients = [None] * len(model.modules)  # gradients[i] = dL/d(input of module i)
        for i in reversed(range(len(model.modules))):
            dout = gradients[i] = model.modules[i].backward(dout)
        record.gradients = [gradients[i].copy() for i in hidden]
        record.weight_gradients = [None if lin is None else lin.W.grad.copy()
                                   for lin in feeding]
        return record
    finally:
        for p, grad in zip(model.parameters(), saved_grads):
            p.grad = grad
        for name, buffer in model.buffers().items():
            buffer[...] = saved_buffers[name]


def unit_spread(W) -> float:
    """How different the units of a layer are, from its weights W (fan_in, units).

    For each input (row of W), the standard deviation of its weights across the units
    (columns); the spread is the largest of these. It is zero exactly when every unit has the
    same incoming weights, as after training from a constant initialization (the symmetry
    problem).
    """
    W = as_float_array(W, "W", ndim=2)
    return float(np.max(np.std(W, axis=1)))


def dead_fraction(activations) -> float:
    """Fraction of units that output zero for every example of the batch.

    ``activations`` (N, H): one hidden layer's ReLU outputs. A unit that is zero on a whole
    batch has zero gradient for all of it too: it is "dead" and learns nothing from that batch.
    """
    a = as_float_array(activations, "activations", ndim=2)
    return float(np.mean(np.all(a == 0, axis=0)))


# A unit is saturated when its output is within 2% of the range's ends: tanh |h| > 0.98, sigmoid
# h outside [0.01, 0.99]. The two thresholds are the same point, since tanh(x) = 2 sigma(2x) - 1,
# and there the slope is about 4% of its largest value (1 for tanh, 1/4 for sigmoid).
SATURATION_THRESHOLDS = {"tanh": (-0.98, 0.98), "sigmoid": (0.01, 0.99)}


def saturated_fraction(activations, kind: str) -> float:
    """Fraction of the entries of ``activations`` (any shape) that are saturated.

    ``kind`` is "tanh" (saturated when |h| > 0.98) or "sigmoid" (h < 0.01 or h > 0.99).
    """
    if kind not in SATURATION_THRESHOLDS:
        raise ValueError(f"saturation is defined for {sorted(SATURATION_THRESHOLDS)}, "
                         f"got {kind!r}")
    low, high = SATURATION_THRESHOLDS[kind]
    a = as_float_array(activations, "activations")
    return float(np.mean((a < low) | (a > high)))
