"""Input checks for the public API.

A student who feeds a layer the wrong width should read "Linear(4 -> 3) expects x of shape
(N, 4), got (8, 5)", not a numpy broadcasting error three calls deep. These helpers raise
``ShapeError`` (a ``ValueError``) or ``TypeError`` with a message that names the argument.

They are cheap by design (shape and dtype only, O(1)): the training loop calls them on every
batch. Checks for NaN, which cost a pass over the data, are left to the places that need them
(losses check that their result is finite and only then look for the culprit).
"""
from __future__ import annotations

import math

import numpy as np


class ShapeError(ValueError):
    """An array argument has the wrong number of dimensions or the wrong size."""


def as_float_array(x, name: str, *, ndim: int | tuple[int, ...] | None = None,
                   dtype=None) -> np.ndarray:
    """Return ``x`` as a floating-point ndarray, or raise an error that names ``name``.

    Integer and boolean inputs are converted (to ``dtype``, default float64); floating inputs
    keep their precision unless ``dtype`` is given. Strings, objects and complex numbers are
    rejected with a ``TypeError``. ``ndim`` may be one int or a tuple of allowed values.
    """
    arr = np.asarray(x)
    kind = arr.dtype.kind
    if kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {arr.dtype}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    elif kind != "f":
        arr = arr.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ShapeError(f"{name} must be {want}, got shape {arr.shape}")
    return arr


def check_width(x: np.ndarray, width: int, name: str, owner: str) -> None:
    """Raise ``ShapeError`` unless ``x`` is 2-D with ``width`` columns."""
    if x.ndim != 2 or x.shape[1] != width:
        raise ShapeError(f"{owner} expects {name} of shape (N, {width}), got {x.shape}")


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ShapeError(f"{name_a} and {name_b} must have the same shape, "
                         f"got {a.shape} and {b.shape}")


def check_labels(y, n_samples: int, n_classes: int, name: str = "y") -> np.ndarray:
    """Return integer class labels of shape (n_samples,) with values in [0, n_classes)."""
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and y.size and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.intp)
        else:
            raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (n_samples,):
        raise ShapeError(f"{name} must have shape ({n_samples},) to match the scores, "
                         f"got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = y[(y < 0) | (y >= n_classes)][0]
        raise ValueError(f"{name} holds label {bad}, outside the {n_classes} classes "
                         f"[0, {n_classes - 1}]")
    return y


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming the first NaN or infinite entry of ``x``."""
    bad = ~np.isfinite(x)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} contains {x[index]} at index {index}: "
                         f"inputs must be finite (a NaN usually means training diverged; "
                         f"try a smaller learning rate)")


def check_number(value, name: str, *, low: float, high: float = math.inf,
                  low_open: bool = False, high_open: bool = True) -> float:
    """Return ``value`` as a Python float, or raise a ValueError naming ``name``.

    Python floats keep float32 arrays in float32 (a numpy float64 scalar would promote them).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if math.isnan(value) or too_low or too_high:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must be in {left}{low}, {high}{right}, got {value}")
    return value


def check_count(value, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` (a size, a number of epochs), or raise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
