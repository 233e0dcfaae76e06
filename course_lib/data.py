"""Datasets, preprocessing and mini-batches, all offline.

Toy problems, small enough to see and to train in seconds:

    xor, moons, circles, two_spirals, blobs    2-D classification, X (N, 2), y (N,) ints
    function_1d                                 1-D regression for universal approximation
    polynomial_regression, polynomial_features  the overfitting-by-degree experiment

Real data that ship with the installed packages (nothing is ever downloaded):

    load_digits    scikit-learn's 8x8 handwritten digits, 1797 images, 64 pixels
    load_mnist1d   MNIST-1D (Greydanus, 2020), 1-D signals of length 40, generated locally

Preprocessing and batching: ``Standardizer``, ``one_hot``, ``iterate_minibatches``. Splits live
in ``course_lib.model_selection`` (``train_test_split``).

Every random function takes ``seed`` (an int, None or a ``numpy.random.Generator``) and never
touches numpy's global random state. Generators return X as float64 (N, D); class labels y are
int64 (N,) in shuffled order, regression targets float64 (N, 1).
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import numpy as np

from ._validation import (ShapeError, as_float_array, check_count, check_labels,
                          check_number, check_width)
from .model_selection import train_test_split


def _class_sizes(n: int, n_classes: int) -> np.ndarray:
    """n examples shared as evenly as possible; the first n % n_classes classes get one more."""
    sizes = np.full(n_classes, n // n_classes)
    sizes[: n % n_classes] += 1
    return sizes


def _shuffled(parts: list[np.ndarray], noise: float, rng: np.random.Generator):
    """Stack one (n_c, D) array per class, add Gaussian noise, shuffle the rows together."""
    X = np.concatenate(parts)
    X = X + noise * rng.standard_normal(X.shape)
    y = np.repeat(np.arange(len(parts), dtype=np.int64), [len(p) for p in parts])
    order = rng.permutation(len(y))
    return X[order], y[order]


# ------------------------------------------------------------------------------------------
# 2-D classification


def xor(n: int = 4, noise: float = 0.0, *, seed=None):
    """The XOR problem: label 1 when exactly one of the two inputs is 1.

    With the defaults, the four points (0, 0), (0, 1), (1, 0), (1, 1) with labels 0, 1, 1, 0,
    which no single linear unit separates. For n > 4, example i is corner i % 4, and Gaussian
    noise of standard deviation ``noise`` turns the corners into four clouds.

    Returns X (n, 2) float64, y (n,) int64.
    """
    n, noise = check_count(n, "n"), check_number(noise, "noise", low=0.0)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = corners[np.arange(n) % 4]
    y = (X[:, 0] != X[:, 1]).astype(np.int64)
    return X + noise * np.random.default_rng(seed).standard_normal(X.shape), y


def moons(n: int = 200, noise: float = 0.1, *, seed=None):
    """Two interleaving half circles (scikit-learn's make_moons).

    Class 0 is the upper half of the unit circle, class 1 the lower half shifted to
    (1, 0.5) - (cos t, sin t); ``noise`` is the standard deviation of added Gaussian noise.

    Returns X (n, 2) float64, y (n,) int64 (ceil(n/2) of class 0).
    """
    n, noise = check_count(n, "n", minimum=2), check_number(noise, "noise", low=0.0)
    outer, inner = (np.linspace(0, np.pi, size) for size in _class_sizes(n, 2))
    parts = [np.column_stack([np.cos(outer), np.sin(outer)]),
             np.column_stack([1 - np.cos(inner), 0.5 - np.sin(inner)])]
    return _shuffled(parts, noise, np.random.default_rng(seed))


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, *, seed=None):
    """A circle of radius ``factor`` (class 1) inside the unit circle (class 0).

    No straight line separates them; a network must bend its boundary into a closed curve.

    Returns X (n, 2) float64, y (n,) int64 (ceil(n/2) of class 0).
    """
    n, noise = check_count(n, "n", minimum=2), check_number(noise, "noise", low=0.0)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    parts = []
    for radius, size in zip((1.0, factor), _class_sizes(n, 2)):
        angle = np.linspace(0, 2 * np.pi, size, endpoint=False)
        parts.append(radius * np.column_stack([np.cos(angle), np.sin(angle)]))
    return _shuffled(parts, noise, np.random.default_rng(seed))


def two_spirals(n: int = 200, noise: float = 0.05, *, turns: float = 1.5, seed=None):
    """Two interleaved spirals winding ``turns`` times around the origin (Lang & Witbrock).

    Class 1 is class 0 rotated by half a turn. The radius grows from 0 to 1 with the angle;
    it is sqrt(u) for u uniform, so the points are spread evenly along the arms rather than
    crowded at the centre. Hard for a linear model, hard-ish for a small network.

    Returns X (n, 2) float64 in about [-1, 1]^2, y (n,) int64 (ceil(n/2) of class 0).
    """
    n, noise = check_count(n, "n", minimum=2), check_number(noise, "noise", low=0.0)
    rng = np.random.default_rng(seed)
    parts = []
    for label, size in enumerate(_class_sizes(n, 2)):
        radius = np.sqrt(rng.uniform(size=size))
        angle = 2 * np.pi * turns * radius + np.pi * label
        parts.append(radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]))
    return _shuffled(parts, noise, rng)


def blobs(n: int = 300, centers=3, std=1.0, *, n_features: int = 2, seed=None):
    """Gaussian clusters, one class per cluster (scikit-learn's make_blobs).

    ``centers`` is a number of clusters, whose centres are drawn uniformly in [-10, 10]^D
    (D = ``n_features``), or an array (K, D) of centres. ``std`` is the standard deviation
    of every cluster, or one per cluster (K,).

    Returns X (n, D) float64, y (n,) int64 with labels 0..K-1 (sizes differ by at most 1).
    """
    n = check_count(n, "n")
    rng = np.random.default_rng(seed)
    if isinstance(centers, (int, np.integer)):
        k, d = check_count(centers, "centers"), check_count(n_features, "n_features")
        centers = rng.uniform(-10.0, 10.0, size=(k, d))
    centers = as_float_array(centers, "centers", ndim=2)
    stds = np.broadcast_to(as_float_array(std, "std"), (len(centers),))
    if np.any(stds < 0):
        raise ValueError(f"std must be >= 0, got {std!r}")
    parts = [c + s * rng.standard_normal((size, len(c)))
             for c, s, size in zip(centers, stds, _class_sizes(n, len(centers)))]
    return _shuffled(parts, 0.0, rng)


# ------------------------------------------------------------------------------------------
# 1-D regression


def _bumps(x):
    centres, widths, heights = (-0.6, 0.0, 0.5), (0.15, 0.05, 0.1), (1.0, 0.5, 0.8)
    return sum(h * np.exp(-(((x - c) / w) ** 2)) for c, w, h in zip(centres, widths, heights))


FUNCTIONS_1D = {
    "sine": lambda x: np.sin(2 * np.pi * x),       # smooth: two periods on [-1, 1]
    "step": lambda x: np.where(x >= 0, 1.0, 0.0),  # a jump: approximable in mean square only
    "abs": np.abs,                                 # one kink: two ReLUs represent it exactly
    "bumps": _bumps,                               # three localized bumps of different widths
}
"""Named target functions of ``function_1d``; each maps an array to an array of its shape."""


def function_1d(target="sine", n: int = 200, noise: float = 0.0, *,
                interval=(-1.0, 1.0), seed=None):
    """Samples (x, f(x) + noise) of a 1-D function, for universal approximation experiments.

    ``target`` names one of ``FUNCTIONS_1D`` ("sine", "step", "abs", "bumps") or is a
    callable mapping an array x (n,) to f(x) (n,). x is uniform on ``interval`` and sorted,
    so that ``plt.plot(x, model(x))`` draws a line; ``noise`` is the standard deviation of
    Gaussian noise added to y.

    Returns x (n, 1) float64, y (n, 1) float64.
    """
    n, noise = check_count(n, "n"), check_number(noise, "noise", low=0.0)
    if isinstance(target, str):
        if target not in FUNCTIONS_1D:
            raise ValueError(f"unknown target {target!r}; choose from {sorted(FUNCTIONS_1D)} "
                             "or pass a function")
        target = FUNCTIONS_1D[target]
    low, high = interval
    if not low < high:
        raise ValueError(f"interval must be (low, high) with low < high, got {interval!r}")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(low, high, n))
    fx = as_float_array(target(x), "target(x)", dtype=np.float64)
    if fx.size != n:
        raise ShapeError(f"target(x) must return one value per x, got shape {fx.shape} "
                         f"for x of shape ({n},)")
    y = fx.reshape(n, 1) + noise * rng.standard_normal((n, 1))
    return x[:, None], y


def polynomial_regression(n: int = 10, noise: float = 0.5, *,
                          coefficients=(0.0, 0.5, 1.0), seed=None):
    """Noisy samples of a polynomial: the setting of the overfitting-by-degree experiment.

    y = c0 + c1 x + c2 x^2 + ... + noise, with x uniform on [-1, 1]. The defaults (the
    quadratic 0.5 x + x^2 seen through 10 points, noise of standard deviation 0.5) set up the
    lecture's leave-one-out table: least-squares polynomials of degree d = 1..9 (on
    ``polynomial_features``) fit their 9 training points ever better, exactly from d = 8 on,
    while the mean squared error on the left-out point is smallest near d = 2 and then
    explodes. ``seed=7`` gives errors close to the lecture's: validation 0.35, 0.27, 0.43, 1.4
    for d = 1..4, training 0.21, 0.14, 0.13, 0.12.

    Returns x (n, 1) float64, y (n, 1) float64.
    """
    n, noise = check_count(n, "n"), check_number(noise, "noise", low=0.0)
    coefficients = as_float_array(coefficients, "coefficients", ndim=1)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, 1))
    y = np.polynomial.polynomial.polyval(x, coefficients) + noise * rng.standard_normal((n, 1))
    return x, y


def polynomial_features(x, degree: int):
    """The columns 1, x, x^2, ..., x^degree of a 1-D input.

    Shapes: x (N,) or (N, 1) -> (N, degree + 1). A linear model on these features is a
    polynomial of degree ``degree`` in x.
    """
    x = as_float_array(x, "x", ndim=(1, 2))
    if x.ndim == 2:
        check_width(x, 1, "x", "polynomial_features")
    degree = check_count(degree, "degree", minimum=0)
    return np.vander(x.reshape(-1), degree + 1, increasing=True)


# ------------------------------------------------------------------------------------------
# Real data sets


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A train/test split of a classification data set.

    Shapes: X_train (N_train, D) float64, y_train (N_train,) int64, X_test (N_test, D),
    y_test (N_test,); labels are in 0..n_classes-1.
    """
    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    description: str

    def __repr__(self) -> str:
        return (f"Dataset({self.name}: train X {self.X_train.shape}, test X {self.X_test.shape}, "
                f"{self.n_classes} classes)")


@functools.lru_cache(maxsize=1)
def _digits_arrays():
    from sklearn.datasets import load_digits as sklearn_digits  # reads a file inside sklearn

    bunch = sklearn_digits()
    return bunch.data / 16.0, bunch.target.astype(np.int64)  # pixels are ink counts 0..16


def load_digits(*, test_size=0.2, seed=0) -> Dataset:
    """The 8x8 handwritten digits bundled with scikit-learn (1797 images, 10 classes).

    Each image is flattened to 64 pixels scaled to [0, 1]. The split is stratified (each digit
    keeps its share in both parts) and seeded: ``test_size=0.2`` gives 1437 / 360 examples.

    Returns a ``Dataset``: X_train (N_train, 64), y_train (N_train,), X_test, y_test.
    """
    X, y = _digits_arrays()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size, stratify=True,
                                                        seed=seed)
    return Dataset("digits", X_train, y_train, X_test, y_test, 10,
                   "8x8 grey-level images of handwritten digits (UCI, via scikit-learn); "
                   "64 pixels scaled to [0, 1].")


@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(seed: int, n_samples: int):
    from mnist1d.data import get_dataset_args, make_dataset  # imported late: takes ~0.5 s

    args = get_dataset_args()
    args.seed, args.num_samples = seed, n_samples
    # make_dataset seeds and draws from the global `random` and `np.random` states; put
    # them back so that loading data never changes the user's random numbers.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    arrays = (data["x"], data["y"].astype(np.int64), data["x_test"],
              data["y_test"].astype(np.int64))
    for a in arrays:
        a.flags.writeable = False  # shared by every caller; each gets copies
    return arrays


def load_mnist1d(*, seed: int = 42, n_samples: int = 5000) -> Dataset:
    """MNIST-1D (Greydanus, 2020): ten digit-like 1-D templates, randomly padded, translated,
    scaled, sheared and made noisy, as signals of length 40.

    Generated locally with the ``mnist1d`` package (about 1 s the first time, then cached in
    memory); ``seed=42`` and 5000 samples reproduce the published data set, split 4000 / 1000.
    ``n_samples`` should be a multiple of 10 (as many examples per digit). Numpy's and
    Python's global random states are left untouched.

    Returns a ``Dataset``: X_train (0.8 n_samples, 40) float64, y_train, X_test, y_test.
    """
    seed, n_samples = int(seed), check_count(n_samples, "n_samples", minimum=10)
    X_train, y_train, X_test, y_test = (a.copy() for a in _mnist1d_arrays(seed, n_samples))
    return Dataset("mnist1d", X_train, y_train, X_test, y_test, 10,
                   "MNIST-1D: 1-D signals of length 40 built from 10 digit templates by random "
                   "padding, translation, scaling, shear and noise; standardized overall.")


# ------------------------------------------------------------------------------------------
# Preprocessing and mini-batches


class Standardizer:
    """Rescale each feature to mean 0 and standard deviation 1, with statistics of the training
    data only (using the test data would leak information about it into the model).

    ``fit(X_train)`` stores ``mean_`` and ``scale_`` (D,); ``transform(X)`` returns
    (X - mean_) / scale_, same shape (N, D). A constant feature carries no information: it is
    mapped to 0 (its scale is set to 1), which avoids a division by zero.
    """

    def fit(self, X) -> "Standardizer":
        X = as_float_array(X, "X", ndim=2, dtype=np.float64)
        if len(X) == 0:
            raise ShapeError("Standardizer.fit needs at least one example, got X of shape "
                             f"{X.shape}")
        mean, std = X.mean(axis=0), X.std(axis=0)
        constant = np.ptp(X, axis=0) == 0
        # The computed mean of equal numbers may differ from them by rounding; use the value
        # itself so that constant features become exactly 0.
        mean[constant] = X[0, constant]
        std[constant | (std == 0)] = 1.0
        self.mean_, self.scale_ = mean, std
        return self

    def _check(self, X, method: str) -> np.ndarray:
        if not hasattr(self, "mean_"):
            raise RuntimeError(f"call fit(X_train) before {method}")
        X = as_float_array(X, "X", ndim=2, dtype=np.float64)
        check_width(X, len(self.mean_), "X", f"Standardizer fitted on {len(self.mean_)} features")
        return X

    def transform(self, X) -> np.ndarray:
        """(N, D) -> (N, D) standardized with the training statistics."""
        return (self._check(X, "transform") - self.mean_) / self.scale_

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z) -> np.ndarray:
        """(N, D) -> (N, D): undo ``transform`` (e.g. to read predictions in original units)."""
        return self._check(Z, "inverse_transform") * self.scale_ + self.mean_

    def __repr__(self) -> str:
        fitted = f"{len(self.mean_)} features" if hasattr(self, "mean_") else "not fitted"
        return f"Standardizer({fitted})"


def one_hot(y, n_classes: int | None = None) -> np.ndarray:
    """Integer labels (N,) -> float64 one-hot matrix (N, n_classes) with a 1 in column y[i].

    ``n_classes`` defaults to max(y) + 1; pass it when a batch may lack the last classes.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ShapeError(f"y must be a 1-D array of class labels (N,), got shape {y.shape}")
    if n_classes is None:
        if y.dtype.kind not in "iu":
            raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
        n_classes = int(y.max()) + 1 if y.size else 0
    y = check_labels(y, len(y), n_classes)
    encoded = np.zeros((len(y), n_classes))
    encoded[np.arange(len(y)), y] = 1.0
    return encoded


def iterate_minibatches(X, y, batch_size: int, shuffle: bool = True, seed=None):
    """Yield ``(X_batch, y_batch)`` pairs that cover the N examples once: one epoch.

    Shapes: X (N, ...), y (N, ...) -> batches (B, ...) with B = ``batch_size``, except the
    last, which holds the N % batch_size leftover examples when there are any. With
    ``shuffle`` the order is a fresh permutation drawn from ``seed``: an int gives the same
    order every epoch, a ``numpy.random.Generator`` a new order each epoch (usually wanted).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ShapeError(f"X and y must have the same number of examples, got shapes "
                         f"{X.shape} and {y.shape}")
    batch_size = check_count(batch_size, "batch_size")
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    for start in range(0, len(X), batch_size):
        batch = order[start:start + batch_size]
        yield X[batch], y[batch]
