"""Gradient checking by finite differences.

An analytic gradient (what a backward pass computes) is compared with a numerical estimate
from centered differences of the scalar function itself,

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2 h),

whose error is O(h^2) from truncation plus O(eps |f| / h) from rounding. Comparisons use the
relative error |a - n| / max(tiny, |a| + |n|), which is scale-free: about 1e-9 or below means
agreement in float64, 1e-2 or above is almost surely a bug.

Where the true derivative is zero (a bias followed by batch normalization, say) the relative
error is rounding noise divided by rounding noise. ``check_gradient`` therefore sets ``tiny``
by default to the rounding floor of the estimate, about eps * |f| / h, divided by the
tolerance: a coordinate then passes when analytic and numeric values agree to within the noise
of the estimate itself, and any disagreement larger than that noise still fails.

Everything here runs in float64 and refuses other dtypes: float32 rounding alone produces
relative errors around 1e-3, which would hide real bugs and flag correct code.

For tensors too large to probe coordinate by coordinate, ``check_gradient`` samples a random
subset of coordinates, and always adds directional-derivative checks: along a random direction
v, (f(x + h v) - f(x - h v)) / (2 h) must match <grad, v>, which involves every coordinate at
once, so an error in an unsampled coordinate still shows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_same_shape

DEFAULT_STEP = 1e-5
DEFAULT_TINY = 1e-12
_EPS = np.finfo(np.float64).eps


def relative_error(analytic, numeric, tiny: float = DEFAULT_TINY):
    """Elementwise |a - n| / max(tiny, |a| + |n|)."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    return np.abs(a - n) / np.maximum(tiny, np.abs(a) + np.abs(n))


def _require_float64(x, name: str) -> None:
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = x.dtype if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"gradient checks need a float64 ndarray for {name}, got {got}: "
                        "float32 rounding alone gives relative errors near 1e-3")


def _partial(f, x: np.ndarray, index: tuple, h: float) -> float:
    """Centered difference along one coordinate; x is perturbed in place and restored."""
    old = x[index]
    x[index] = old + h
    plus = float(f(x))
    x[index] = old - h
    minus = float(f(x))
    x[index] = old
    return (plus - minus) / (2.0 * h)


def numerical_gradient(f, x: np.ndarray, h: float = DEFAULT_STEP, indices=None) -> np.ndarray:
    """Centered-difference gradient of the scalar function ``f`` at ``x``.

    ``f(x)`` must return a scalar; ``x`` (any shape, float64) is perturbed in place one
    coordinate at a time and restored, so ``f`` may also close over ``x`` instead of using its
    argument. With ``indices`` (a sequence of index tuples) only those coordinates are
    estimated and the result has one value per index; otherwise it has the shape of ``x``.
    """
    _require_float64(x, "x")
    if indices is not None:
        return np.array([_partial(f, x, tuple(i), h) for i in indices])
    grad = np.empty_like(x)
    for index in np.ndindex(*x.shape):
        grad[index] = _partial(f, x, index, h)
    return grad


def directional_derivative(f, x: np.ndarray, v: np.ndarray, h: float = DEFAULT_STEP) -> float:
    """Centered-difference estimate of the derivative of ``f`` at ``x`` along ``v``."""
    _require_float64(x, "x")
    x0 = x.copy()
    x += h * v
    plus = float(f(x))
    x[...] = x0 - h * v
    minus = float(f(x))
    x[...] = x0
    return (plus - minus) / (2.0 * h)


@dataclass
class GradCheckReport:
    """The outcome of comparing one analytic gradient with finite differences.

    ``worst_index`` is the coordinate with the largest relative error, where the analytic and
    numeric values were ``analytic`` and ``numeric``. ``directional_error`` is the largest
    relative error over the random-direction checks (NaN when there were none).
    """
    name: str
    max_rel_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    n_checked: int
    n_total: int
    directional_error: float
    tol: float

    @property
    def passed(self) -> bool:
        worst = max(self.max_rel_error,
                    0.0 if np.isnan(self.directional_error) else self.directional_error)
        return bool(worst < self.tol)

    def __str__(self) -> str:
        verdict = "ok" if self.passed else "FAILED"
        text = (f"gradient check of {self.name}: {verdict} (tolerance {self.tol:.0e})\n"
                f"  max relative error {self.max_rel_error:.2e} over {self.n_checked} of "
                f"{self.n_total} coordinates; worst at index {self.worst_index}: "
                f"analytic {self.analytic:.10g} vs numeric {self.numeric:.10g}")
        if not np.isnan(self.directional_error):
            text += f"\n  random-direction relative error {self.directional_error:.2e}"
        return text

    def assert_passed(self) -> None:
        """Raise ``AssertionError`` carrying the report when the check failed."""
        if not self.passed:
            raise AssertionError(str(self))


def _sample_indices(shape: tuple, n: int | None, rng: np.random.Generator) -> list[tuple]:
    size = int(np.prod(shape))
    if n is None or n >= size:
        return list(np.ndindex(*shape))
    flat = rng.choice(size, size=n, replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def check_gradient(f, x: np.ndarray, grad, *, name: str = "x", h: float = DEFAULT_STEP,
                   tol: float = 1e-7, max_coords: int | None = 500, directions: int = 3,
                   tiny: float | None = None, seed: int = 0) -> GradCheckReport:
    """Compare ``grad`` (the analytic df/dx, shape of ``x``) with finite differences of ``f``.

    At most ``max_coords`` coordinates, chosen at random with ``seed``, are probed one by one
    (all of them when ``max_coords`` is None or the tensor is small), plus ``directions``
    random-direction checks that involve every coordinate. ``tiny`` defaults to the rounding
    floor 8 eps max(1, |f(x)|) / h divided by ``tol`` (see the module docstring). Returns a
    ``GradCheckReport``; call ``.assert_passed()`` on it in tests.
    """
    _require_float64(x, name)
    if tiny is None:
        tiny = 8.0 * _EPS * max(1.0, abs(float(f(x)))) / h / tol
    grad = np.asarray(grad, dtype=np.float64)
    check_same_shape(grad, x, f"gradient of {name}", name)
    rng = np.random.default_rng(seed)
    indices = _sample_indices(x.shape, max_coords, rng)
    numeric = numerical_gradient(f, x, h=h, indices=indices)
    analytic = np.array([grad[i] for i in indices])
    errors = relative_error(analytic, numeric, tiny)
    worst = int(np.argmax(errors)) if errors.size else 0

    directional = np.nan
    if directions and x.size:
        errs = []
        for _ in range(directions):
            v = rng.standard_normal(x.shape)
            v /= np.linalg.norm(v)
            errs.append(relative_error(np.sum(grad * v),
                                       directional_derivative(f, x, v, h), tiny))
        directional = float(max(errs))

    return GradCheckReport(
        name=name,
        max_rel_error=float(errors[worst]) if errors.size else 0.0,
        worst_index=indices[worst] if indices else (),
        analytic=float(analytic[worst]) if errors.size else 0.0,
        numeric=float(numeric[worst]) if errors.size else 0.0,
        n_checked=len(indices), n_total=int(x.size),
        directional_error=directional, tol=tol)


def check_module(module, x: np.ndarray, *, seed: int = 0, **options) -> list[GradCheckReport]:
    """Gradient-check a layer's backward for its input and every parameter.

    ``module`` follows the course_lib.nn interface (``forward``, ``backward``, ``parameters()``
    and ``named_parameters()`` of objects with ``.value`` and ``.grad``). The scalar checked is
    f = sum(forward(x) * g) for a fixed random g, whose gradient with respect to the output is g.
    The module must be deterministic: put dropout in eval mode or fix its mask first.
    ``options`` are passed on to ``check_gradient``.
    """
    _require_float64(x, "x")
    g = np.random.default_rng(seed).standard_normal(module.forward(x).shape)

    def f(_):
        return np.sum(module.forward(x) * g)

    first = f(None)
    if f(None) != first:
        raise ValueError(f"{type(module).__name__} gives different outputs for the same input "
                         "(a dropout mask resampled?): put it in eval mode or fix its mask")
    params = module.named_parameters()
    module.forward(x)
    dx = module.backward(g).copy()
    grads = [p.grad.copy() for _, p in params]  # backward overwrites .grad; keep this pass's
    reports = [check_gradient(f, x, dx, name="x", seed=seed, **options)]
    for (name, p), grad in zip(params, grads):
        reports.append(check_gradient(f, p.value, grad, name=name, seed=seed, **options))
    return reports
