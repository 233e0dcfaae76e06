"""Layers as pairs of functions: a forward pass and its backward pass.

Read this file top to bottom like a chapter. Every operation ``op`` has

    out, cache = op_forward(inputs..., parameters...)
    d_inputs..., d_parameters... = op_backward(dout, cache)

where ``cache`` holds exactly what the backward pass needs, and ``dout`` is the gradient of the
loss with respect to ``out`` (same shape as ``out``). A backward returns the gradients of the
loss with respect to each input of the forward, in the same order and with the same shapes.

Shapes use N for the batch size, D for input features and M for output units. Inputs are
batches of row vectors, so a linear layer computes x @ W + b with W of shape (D, M); the
lectures' column-vector form a = W'h + b is the same layer with W' = W^T.

These functions do not validate their inputs or mutate them; ``course_lib.nn`` wraps them in
modules that check shapes, hold parameters with their gradients, and switch train/eval mode.
"""
from __future__ import annotations

import numpy as np

from . import activations
from .activations import ELEMENTWISE


# --- linear (affine) layer --------------------------------------------------------------------

def linear_forward(x, W, b):
    """out = x @ W + b.   x (N, D), W (D, M), b (M,)  ->  out (N, M)."""
    out = x @ W
    out += b
    return out, (x, W)


def linear_backward(dout, cache, input_grad: bool = True):
    """dout (N, M) -> dx (N, D), dW (D, M), db (M,).

    Each weight W[d, m] multiplies x[:, d] into out[:, m], so dW = x^T dout; each input feeds
    every unit, so dx = dout W^T; the bias is added to every row, so db sums dout over rows.
    When x is the data nobody needs dx, which costs as much as dW: ``input_grad=False``
    skips it and returns None in its place.
    """
    x, W = cache
    dx = dout @ W.T if input_grad else None
    return dx, x.T @ dout, dout.sum(axis=0)


# --- elementwise activations ------------------------------------------------------------------
# The backward of y = g(x) is dx = dout * g'(x). For ReLU, sigmoid and tanh, g' is cheapest to
# compute from the output y, so their cache is y; the others cache x.

def relu_forward(x):
    """out = max(0, x), any shape."""
    out = np.maximum(x, 0.0)
    return out, out


def relu_backward(dout, cache):
    """Gradient passes where the unit was active (out > 0) and stops where it was not."""
    out = cache
    # Multiplying by the 0/1 mask is many times faster than np.where(out > 0, dout, 0.0).
    return dout * (out > 0)


def sigmoid_forward(x):
    """out = 1 / (1 + exp(-x)), any shape."""
    out = ELEMENTWISE["sigmoid"][0](x)
    return out, out


def sigmoid_backward(dout, cache):
    """sigma' = sigma (1 - sigma), computed from the cached output."""
    out = cache
    return dout * out * (1.0 - out)


def tanh_forward(x):
    """out = tanh(x), any shape."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """tanh' = 1 - tanh^2, computed from the cached output."""
    out = cache
    return dout * (1.0 - out * out)


def activation_forward(x, name: str, **kwargs):
    """Any activation of ``course_lib.activations.ELEMENTWISE`` by name (e.g. "elu")."""
    g, _ = ELEMENTWISE[name]
    return g(x, **kwargs), (x, name, kwargs)


def activation_backward(dout, cache):
    x, name, kwargs = cache
    _, g_prime = ELEMENTWISE[name]
    return dout * g_prime(x, **kwargs)


# --- maxout -----------------------------------------------------------------------------------

def maxout_forward(x, W, b, pieces: int):
    """A maxout layer: M units, each the max of ``pieces`` linear functions of x.

    x (N, D), W (D, M * pieces), b (M * pieces,) -> out (N, M). Pieces of unit m are the
    consecutive columns m * pieces ... (m + 1) * pieces - 1 of W.
    """
    z, linear_cache = linear_forward(x, W, b)
    out, argmax = activations.maxout(z, pieces)
    return out, (linear_cache, argmax, pieces)


def maxout_backward(dout, cache):
    """dout (N, M) -> dx (N, D), dW, db: only each group's winning piece gets gradient."""
    linear_cache, argmax, pieces = cache
    dz = activations.maxout_backward(dout, argmax, pieces)
    return linear_backward(dz, linear_cache)


# --- dropout ----------------------------------------------------------------------------------

def dropout_forward(x, p: float, train: bool, rng=None, mask=None):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the
    survivors by 1 / (1 - p), so that E[out] = x and nothing needs rescaling at test time.

    x any shape -> out same shape. In evaluation (``train=False``) the layer is the identity.
    A fresh mask is drawn from ``rng`` (a Generator, or a seed) on every call unless ``mask``
    (already scaled: entries 0 or 1 / (1 - p)) is given, as gradient checks do.
    """
    if not train or p == 0.0:
        return x, None
    if mask is None:
        keep = np.random.default_rng(rng).random(x.shape) >= p
        mask = keep.astype(x.dtype)
        mask /= 1.0 - p
    return x * mask, mask


def dropout_backward(dout, cache):
    """A dropped unit passed nothing forward, so it receives no gradient: dx = dout * mask."""
    mask = cache
    return dout if mask is None else dout * mask


# --- batch normalization ----------------------------------------------------------------------

def batchnorm_forward(x, gamma, beta, running_mean, running_var, train: bool,
                      momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalization (Ioffe & Szegedy, 2015) of each of the D features.

    x (N, D), gamma (D,), beta (D,), running_mean (D,), running_var (D,) -> out (N, D).

    Training: normalize with the batch's own mean and (biased) variance,
        x_hat = (x - mean) / sqrt(var + eps),   out = gamma * x_hat + beta,
    and update the running statistics in place,
        running = (1 - momentum) * running + momentum * batch statistic.
    Evaluation: normalize with the running statistics instead, so an example's output does
    not depend on the other examples of its batch.
    """
    if train:
        mean = x.mean(axis=0)
        var = x.var(axis=0)
        running_mean *= 1.0 - momentum
        running_mean += momentum * mean
        running_var *= 1.0 - momentum
        running_var += momentum * var
    else:
        mean, var = running_mean, running_var
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    return out, (x_hat, gamma, inv_std, train)


def batchnorm_backward(dout, cache):
    """dout (N, D) -> dx (N, D), dgamma (D,), dbeta (D,).

    In training, every x[i] moves the batch mean and variance, so the gradient flows through
    them too. Working the chain rule through mean and var gives the compact form

        dx = (inv_std / N) * (N * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)),

    with dx_hat = dout * gamma and sums over the batch. In evaluation mean and var are
    constants and dx = dx_hat * inv_std.
    """
    x_hat, gamma, inv_std, train = cache
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    if not train:
        return dx_hat * inv_std, dgamma, dbeta
    n = dout.shape[0]
    dx = (inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))
    return dx, dgamma, dbeta
