"""Weight initialization schemes.

Each function returns a new (fan_in, fan_out) array for a linear layer computing x @ W, where
fan_in is the number of inputs of a unit and fan_out the number of units. ``seed`` is an int,
None, or a ``numpy.random.Generator`` (passed to ``np.random.default_rng``, which returns a
Generator unchanged), so a model can thread one generator through all of its layers.

Why the scales: a unit sums fan_in terms, so the variance of its pre-activation is about
fan_in * Var(W) * Var(input). Glorot & Bengio (2010) choose Var(W) = 2 / (fan_in + fan_out) to
keep both the forward activations and the backward gradients at constant variance across
layers of tanh units; He et al. (2015) choose Var(W) = 2 / fan_in for ReLU units, which zero
half of their inputs. A uniform distribution on [-a, a] has variance a^2 / 3.
"""
from __future__ import annotations

import numpy as np


def zeros(fan_in: int, fan_out: int, *, seed=None, dtype=np.float64):
    """All zeros: every unit computes the same thing forever (the symmetry problem)."""
    return np.zeros((fan_in, fan_out), dtype=dtype)


def constant(fan_in: int, fan_out: int, value: float = 0.1, *, seed=None, dtype=np.float64):
    """Every weight equal to ``value``: units stay identical, so the network has one unit's power."""
    return np.full((fan_in, fan_out), value, dtype=dtype)


def normal(fan_in: int, fan_out: int, scale: float = 0.01, *, seed=None, dtype=np.float64):
    """Independent N(0, scale^2) weights."""
    rng = np.random.default_rng(seed)
    return (scale * rng.standard_normal((fan_in, fan_out))).astype(dtype, copy=False)


def uniform(fan_in: int, fan_out: int, scale: float = 0.05, *, seed=None, dtype=np.float64):
    """Independent U(-scale, scale) weights."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-scale, scale, (fan_in, fan_out)).astype(dtype, copy=False)


def glorot_uniform(fan_in: int, fan_out: int, *, seed=None, dtype=np.float64):
    """Glorot/Xavier uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out))."""
    return uniform(fan_in, fan_out, np.sqrt(6.0 / (fan_in + fan_out)), seed=seed, dtype=dtype)


def glorot_normal(fan_in: int, fan_out: int, *, seed=None, dtype=np.float64):
    """Glorot/Xavier normal: N(0, 2 / (fan_in + fan_out))."""
    return normal(fan_in, fan_out, np.sqrt(2.0 / (fan_in + fan_out)), seed=seed, dtype=dtype)


def he_normal(fan_in: int, fan_out: int, *, seed=None, dtype=np.float64):
    """He/Kaiming normal for ReLU layers: N(0, 2 / fan_in)."""
    return normal(fan_in, fan_out, np.sqrt(2.0 / fan_in), seed=seed, dtype=dtype)


def he_uniform(fan_in: int, fan_out: int, *, seed=None, dtype=np.float64):
    """He/Kaiming uniform for ReLU layers: U(-a, a) with a = sqrt(6 / fan_in)."""
    return uniform(fan_in, fan_out, np.sqrt(6.0 / fan_in), seed=seed, dtype=dtype)


INITIALIZERS = {f.__name__: f for f in (zeros, constant, normal, uniform, glorot_uniform,
                                        glorot_normal, he_normal, he_uniform)}
