"""A flow graph: reverse-mode automatic differentiation on numpy arrays.

A computation is a graph of boxes (``Node`` objects). Leaves hold data (``Input``, the white
nodes of the lectures' figures) or parameters (``Param``, the red nodes); every other node is an
operation (the blue nodes) that computes its ``value`` from the values of its ``parents``:

    forward()   fprop: value = op(parent values)
    backward()  bprop: given self.grad = dL/d(self), add to each parent's .grad its share
                dL/d(parent) = dL/d(self) * d(self)/d(parent)   (the chain rule)

``backprop(loss)`` seeds dL/dL = 1 at the loss and calls ``backward`` on every node in reverse
topological order, so each node is visited only once all the nodes that use it have sent their
share. Shares are *added*: a node used twice (a weight that feeds the network and also a weight
penalty) receives the sum of both paths, as the multivariable chain rule says.

A two-layer MLP with a softmax cross-entropy loss (the function ``mlp_graph`` builds this)::

    x, y = Input(X), Input(labels)                     # X (N, D), labels (N,)
    W1, b1 = Param(rng.standard_normal((D, H))), Param(np.zeros(H))
    W2, b2 = Param(rng.standard_normal((H, C))), Param(np.zeros(C))
    h = Activation(Add(MatMul(x, W1), b1), "relu")      # (N, H)
    loss = SoftmaxCrossEntropy(Add(MatMul(h, W2), b2), y)
    backprop(loss)                                      # now W1.grad is dL/dW1, etc.
    W1.value -= 0.1 * W1.grad; ...; fprop(loss)         # a step, then recompute every value

Nodes compute their value when they are built; ``fprop(loss)`` recomputes the whole graph after
leaf values change. Operands that are not nodes (arrays, numbers) are wrapped in ``Input``.
"""
from __future__ import annotations

import numpy as np

from . import losses
from ._validation import ShapeError, as_float_array
from .activations import ELEMENTWISE


class Node:
    """A box of the flow graph: ``value``, ``grad`` (dL/d value, same shape) and ``parents``.
    Subclasses define ``forward`` (set value) and ``backward`` (add to the parents' grads)."""

    def __init__(self, *parents):
        self.parents = tuple(p if isinstance(p, Node) else Input(p) for p in parents)
        self.grad = None
        self.forward()

    def forward(self) -> None:
        raise NotImplementedError

    def backward(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shape={np.shape(self.value)})"


class Input(Node):
    """A leaf holding data (inputs, targets, labels, constants). Any shape; kept as given."""

    def __init__(self, value):
        self.value = np.asarray(value)
        super().__init__()

    def forward(self):  # a leaf's value is set from outside
        pass

    def backward(self):  # and it has no parents to send gradient to
        pass


class Param(Input):
    """A leaf holding a trainable parameter as a float array (float64 unless given float). A
    float ndarray is not copied, so a graph can share weights with an nn module."""

    def __init__(self, value):
        super().__init__(as_float_array(value, "value"))


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` back to ``shape`` over the axes along which a value of ``shape`` was
    broadcast: a bias added to every row receives the sum of the rows' gradients."""
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


def _check_broadcastable(op: str, a: Node, b: Node) -> None:
    try:  # a numpy traceback would not say which node failed
        np.broadcast_shapes(a.value.shape, b.value.shape)
    except ValueError:
        raise ShapeError(f"{op} cannot broadcast shapes {a.value.shape} and "
                         f"{b.value.shape}") from None


class Add(Node):
    """a + b with numpy broadcasting, e.g. pre-activations (N, M) + bias (M,) -> (N, M)."""

    def forward(self):
        a, b = self.parents
        _check_broadcastable("Add", a, b)
        self.value = a.value + b.value

    def backward(self):
        for p in self.parents:
            p.grad += _unbroadcast(self.grad, p.value.shape)


class Mul(Node):
    """Elementwise a * b with numpy broadcasting (a scalar times a tensor, a mask, ...)."""

    def forward(self):
        a, b = self.parents
        _check_broadcastable("Mul", a, b)
        self.value = a.value * b.value

    def backward(self):
        a, b = self.parents
        a.grad += _unbroadcast(self.grad * b.value, a.value.shape)
        b.grad += _unbroadcast(self.grad * a.value, b.value.shape)


class MatMul(Node):
    """Matrix product a @ b.   a (N, K), b (K, M) -> (N, M)."""

    def forward(self):
        a, b = self.parents
        if a.value.ndim != 2 or b.value.ndim != 2 or a.value.shape[1] != b.value.shape[0]:
            raise ShapeError(f"MatMul needs matrices (N, K) @ (K, M), got "
                             f"{a.value.shape} @ {b.value.shape}")
        self.value = a.value @ b.value

    def backward(self):
        a, b = self.parents
        a.grad += self.grad @ b.value.T  # out[n, m] = sum_k a[n, k] b[k, m]
        b.grad += a.value.T @ self.grad


class Sum(Node):
    """Sum of all entries of x (any shape) -> a scalar (shape ())."""

    def forward(self):
        self.value = np.asarray(self.parents[0].value.sum())

    def backward(self):
        x, = self.parents
        x.grad += self.grad  # every entry moves the sum one for one: broadcast the scalar


class Activation(Node):
    """An elementwise activation of ``course_lib.activations.ELEMENTWISE`` by name ("relu",
    "sigmoid", "tanh", ...); ``kwargs`` (slope, alpha) go to it. Output has x's shape."""

    def __init__(self, x, name: str, **kwargs):
        if name not in ELEMENTWISE:
            raise ValueError(f"unknown activation {name!r}; choose from {sorted(ELEMENTWISE)}")
        self.name, self.kwargs = name, kwargs
        super().__init__(x)

    def forward(self):
        self.value = ELEMENTWISE[self.name][0](self.parents[0].value, **self.kwargs)

    def backward(self):
        x, = self.parents
        x.grad += self.grad * ELEMENTWISE[self.name][1](x.value, **self.kwargs)

    def __repr__(self):
        return f"Activation({self.name!r}, shape={self.value.shape})"


class LabelLoss(Node):
    """A loss of logits against labels, ``loss_fn`` from course_lib.losses -> a scalar.
    Labels are discrete: they get no gradient."""
    loss_fn = None

    def forward(self):
        logits, y = self.parents
        loss, self._dlogits = type(self).loss_fn(logits.value, y.value)
        self.value = np.asarray(loss)

    def backward(self):
        self.parents[0].grad += self.grad * self._dlogits


class SoftmaxCrossEntropy(LabelLoss):
    """Mean cross-entropy of softmax(logits) against labels: logits (N, C), y (N,) integers."""
    loss_fn = losses.softmax_cross_entropy


class BinaryCrossEntropy(LabelLoss):
    """Mean logit loss of a logistic unit: logits (N,) or (N, 1), y of 0s and 1s."""
    loss_fn = losses.binary_cross_entropy_with_logits


class MSE(Node):
    """Mean squared error (``losses.mean_squared_error``). pred, target (N,) or (N, D) -> a
    scalar. The loss is symmetric in its arguments, so the target receives minus pred's share."""

    def forward(self):
        pred, target = self.parents
        loss, self._dpred = losses.mean_squared_error(pred.value, target.value)
        self.value = np.asarray(loss)

    def backward(self):
        pred, target = self.parents
        pred.grad += self.grad * self._dpred
        target.grad -= self.grad * self._dpred


def topological_order(output: Node) -> list[Node]:
    """Every node that ``output`` depends on, each listed after all of its parents."""
    order, seen = [], set()

    def visit(node):
        if node not in seen:
            seen.add(node)
            for parent in node.parents:
                visit(parent)
            order.append(node)

    visit(output)
    return order


def fprop(output: Node) -> np.ndarray:
    """Recompute every node in topological order (after leaf values changed); return the
    output's value."""
    for node in topological_order(output):
        node.forward()
    return output.value


def backprop(loss: Node) -> None:
    """Fill ``.grad`` = dL/d(value) of every node the scalar ``loss`` depends on.

    Gradients from an earlier call are discarded first: one forward, one backward, one step.
    """
    if np.size(loss.value) != 1:
        raise ShapeError(f"backprop starts from a scalar loss, got a value of shape "
                         f"{np.shape(loss.value)}")
    order = topological_order(loss)
    for node in order:
        node.grad = np.zeros(node.value.shape)
    loss.grad = np.ones(loss.value.shape)  # dL/dL = 1
    for node in reversed(order):
        node.backward()


def mlp_graph(x, y, weights, biases, activation: str = "relu") -> SoftmaxCrossEntropy:
    """The flow graph of an MLP and its softmax cross-entropy loss; returns the loss node.

    x (N, D) and y (N,) are the data; ``weights[k]`` (D_k, D_{k+1}) and ``biases[k]``
    (D_{k+1},) are the nodes of layer k (usually ``Param``s, whose ``.grad`` the caller reads
    after ``backprop``). Each layer computes h @ W + b, followed by ``activation`` on every
    layer but the last, whose output (the scores, ``loss.parents[0]``) goes to the loss.
    """
    if len(weights) != len(biases) or not weights:
        raise ValueError(f"need one bias per weight matrix and at least one layer, got "
                         f"{len(weights)} weights and {len(biases)} biases")
    h = x
    for k, (W, b) in enumerate(zip(weights, biases)):
        h = Add(MatMul(h, W), b)
        if k < len(weights) - 1:
            h = Activation(h, activation)
    return SoftmaxCrossEntropy(h, y)
