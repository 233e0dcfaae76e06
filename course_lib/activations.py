"""Activation functions and their derivatives.

Every elementwise activation ``g`` comes with ``g_derivative(x)``, the elementwise derivative
``g'(x)`` evaluated at the same pre-activation ``x``. Both accept any shape and return an
array of the same shape and floating dtype. All are written to stay finite and warning-free for
``|x|`` up to 1e3 and beyond: no ``exp`` is ever evaluated at a large positive argument.

``softmax`` and ``maxout`` are not elementwise: ``softmax`` maps a row of scores to a
probability vector, so its "derivative" is a Jacobian-vector product (``softmax_backward``);
``maxout`` takes the maximum over groups of units and routes gradient to the winner of each group.
"""
from __future__ import annotations

import numpy as np

from ._validation import ShapeError, as_float_array


# --- threshold units -------------------------------------------------------------------------

def step(x):
    """Heaviside step: 1 where ``x >= 0``, else 0 (the threshold logic unit's output)."""
    x = as_float_array(x, "x")
    return (x >= 0).astype(x.dtype)


def step_derivative(x):
    """Zero everywhere it is defined: why a threshold unit cannot be trained by gradients."""
    x = as_float_array(x, "x")
    return np.zeros_like(x)


def sign(x):
    """+1 where ``x >= 0``, else -1 (the perceptron's output with labels in {-1, +1})."""
    x = as_float_array(x, "x")
    return np.where(x >= 0, 1.0, -1.0).astype(x.dtype)


def sign_derivative(x):
    """Zero everywhere it is defined."""
    x = as_float_array(x, "x")
    return np.zeros_like(x)


# --- smooth squashing functions --------------------------------------------------------------

def sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x)), in (0, 1).

    Evaluated as exp(-|x|) so that the exponential never overflows: for x >= 0 it is
    1 / (1 + e^{-x}); for x < 0 the equivalent e^{x} / (1 + e^{x}).
    """
    x = as_float_array(x, "x")
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def sigmoid_derivative(x):
    """sigma'(x) = sigma(x) (1 - sigma(x)); at most 1/4, vanishing for large |x|."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x):
    """Hyperbolic tangent, in (-1, 1); tanh(x) = 2 sigma(2x) - 1."""
    return np.tanh(as_float_array(x, "x"))


def tanh_derivative(x):
    """tanh'(x) = 1 - tanh(x)^2; at most 1, at x = 0."""
    t = tanh(x)
    return 1.0 - t * t


# --- piecewise linear units ------------------------------------------------------------------

def relu(x):
    """Rectified linear unit max(0, x)."""
    x = as_float_array(x, "x")
    return np.maximum(x, 0.0)


def relu_derivative(x):
    """1 where x > 0, else 0 (we take the derivative at the kink x = 0 to be 0)."""
    x = as_float_array(x, "x")
    return (x > 0).astype(x.dtype)


def leaky_relu(x, slope: float = 0.01):
    """max(x, slope * x): a ReLU whose negative side keeps a small gradient ``slope``."""
    x = as_float_array(x, "x")
    return np.where(x > 0, x, slope * x)


def leaky_relu_derivative(x, slope: float = 0.01):
    """1 where x > 0, else ``slope``."""
    x = as_float_array(x, "x")
    return np.where(x > 0, 1.0, slope).astype(x.dtype)


def elu(x, alpha: float = 1.0):
    """Exponential linear unit: x for x > 0, alpha (e^x - 1) otherwise."""
    x = as_float_array(x, "x")
    # expm1 only ever sees non-positive arguments, so it cannot overflow.
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def elu_derivative(x, alpha: float = 1.0):
    """1 for x > 0, alpha e^x otherwise."""
    x = as_float_array(x, "x")
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))).astype(x.dtype)


def softplus(x):
    """log(1 + e^x), a smooth ReLU, computed as max(x, 0) + log1p(e^{-|x|})."""
    x = as_float_array(x, "x")
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def softplus_derivative(x):
    """softplus'(x) = sigma(x)."""
    return sigmoid(x)


# --- non-elementwise activations -------------------------------------------------------------

def softmax(x, axis: int = -1):
    """Softmax along ``axis``: exp(x) / sum(exp(x)); each slice is a probability vector.

    Shifting by the maximum first leaves the result unchanged and keeps every exponent <= 0,
    so large scores cannot overflow.
    """
    x = as_float_array(x, "x")
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_backward(dout, probs, axis: int = -1):
    """Gradient through softmax: given dL/dp and p = softmax(x), return dL/dx.

    The Jacobian of softmax is diag(p) - p p^T, so dL/dx = p * (dout - sum(dout * p)).
    """
    dout = as_float_array(dout, "dout")
    return probs * (dout - np.sum(dout * probs, axis=axis, keepdims=True))


def maxout(z, pieces: int):
    """Maxout over groups of ``pieces`` consecutive units.

    Shapes: z (N, M * pieces) -> out (N, M). Unit m of the output is the maximum of
    z[:, m*pieces : (m+1)*pieces]. Returns ``(out, argmax)`` where argmax (N, M) is the index
    of the winner inside each group, which the backward pass needs.
    """
    z = as_float_array(z, "z", ndim=2)
    if pieces < 1 or z.shape[1] % pieces:
        raise ShapeError(f"maxout with {pieces} pieces needs a width divisible by {pieces}, "
                         f"got z of shape {z.shape}")
    groups = z.reshape(z.shape[0], -1, pieces)
    argmax = groups.argmax(axis=2)
    out = np.take_along_axis(groups, argmax[..., None], axis=2)[..., 0]
    return out, argmax


def maxout_backward(dout, argmax, pieces: int):
    """Route dL/dout (N, M) to the winning piece of each group: returns dL/dz (N, M * pieces)."""
    dout = as_float_array(dout, "dout", ndim=2)
    n, m = dout.shape
    dz = np.zeros((n, m, pieces), dtype=dout.dtype)
    np.put_along_axis(dz, argmax[..., None], dout[..., None], axis=2)
    return dz.reshape(n, m * pieces)


# Elementwise activations by name: (function, derivative). Layers and the flow graph look
# them up here so that each formula is written exactly once.
ELEMENTWISE = {
    "step": (step, step_derivative),
    "sign": (sign, sign_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "elu": (elu, elu_derivative),
    "softplus": (softplus, softplus_derivative),
}
