"""Checking an implementation against the reference, with messages that teach.

The assignments' tests (the visible ones students run, and the hidden ones that grade) are
built from these checks. Each compares what a student's function returns with what
course_lib's reference returns and, when they differ, says which quantity, at which index,
expected versus got, and what the usual cause of that kind of difference is:

    with collect() as failures:
        attempt(failures, check_close, "sigmoid(x)", sigmoid(x), reference.sigmoid(x))
        attempt(failures, check_no_warnings, "sigmoid", failures.warnings)
    if failures:  # one message listing every failure, without a traceback into the checks
        raise AssertionError(failures.summary()) from None

``collect`` also keeps the student's code from failing a test for the wrong reason: numpy
warnings (an overflow in a correct but naive formula, say) are recorded and reported by the
checks that care, never printed to stderr, which nbgrader would score as a failure; and an
exception raised by the student's code becomes a failure that names it.
"""
from __future__ import annotations

import contextlib
import functools
import io
import sys
import traceback
import warnings

import numpy as np

from .gradcheck import numerical_gradient


class CheckFailed(AssertionError):
    """One check failed; the message is meant for the student."""


def _index_text(index) -> str:
    return str(tuple(int(i) for i in index)) if len(index) else "()"


def _diagnose(got: np.ndarray, expected: np.ndarray) -> str:
    """Name the usual cause when ``got`` is a simple transformation of ``expected``."""
    if got.shape == expected.shape and expected.size:
        if not np.any(got) and np.any(expected):
            return "every value is 0: is the result computed, and computed where it is returned?"
        if np.allclose(got, -expected, rtol=1e-6, atol=1e-12) and np.any(expected):
            return "every value has the wrong sign: check the sign of the formula"
        # One number is always a constant times, or a constant away from, another: the two
        # patterns below need at least two values to mean something.
        nonzero = np.abs(expected) > 1e-12
        if nonzero.sum() > 1:
            ratio = got[nonzero] / expected[nonzero]
            if np.allclose(ratio, ratio.flat[0], rtol=1e-6) and not np.isclose(ratio.flat[0], 1):
                factor = ratio.flat[0]
                return (f"every value is {factor:.6g} times the expected one: a missing or "
                        f"extra constant factor (a forgotten 1/N, a 2 from a square, a scale)")
        if expected.size > 1 and np.allclose(got - expected, (got - expected).flat[0], rtol=1e-6,
                                             atol=1e-12):
            return "every value is off by the same constant: a missing or extra additive term"
    if got.ndim == 2 and got.shape == expected.shape[::-1] and got.shape != expected.shape:
        if np.allclose(got.T, expected, rtol=1e-6, atol=1e-12):
            return "the result is the transpose of the expected one: a missing transpose"
    return ""


def check_close(name: str, got, expected, *, rtol: float = 1e-7, atol: float = 1e-12,
                hint: str = "") -> None:
    """Raise ``CheckFailed`` unless ``got`` matches ``expected`` (shape, finiteness, values).

    Values must satisfy |got - expected| <= atol + rtol |expected| everywhere. The message names
    the worst entry and, where it recognizes the pattern, the usual cause; ``hint`` is added.
    """
    if got is None:
        raise CheckFailed(f"{name} is None: did the function forget to `return` its result?")
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name} should be an array of numbers, got {type(got).__name__}") from None
    expected = np.asarray(expected, dtype=np.float64)
    extra = f"\n  hint: {hint}" if hint else ""
    if got.shape != expected.shape:
        why = _diagnose(got, expected)
        raise CheckFailed(f"{name} has shape {got.shape}, expected {expected.shape}"
                          + (f"\n  likely cause: {why}" if why else "") + extra)
    bad_finite = ~np.isfinite(got) & np.isfinite(expected)
    if bad_finite.any():
        index = np.argwhere(bad_finite)[0]
        raise CheckFailed(
            f"{name} at index {_index_text(index)}: expected {expected[tuple(index)]:.10g}, got "
            f"{got[tuple(index)]}\n  likely cause: an overflow (exp of a large number) or a "
            f"0/0; rewrite the formula so that no intermediate value can overflow" + extra)
    error = np.abs(got - expected) - (atol + rtol * np.abs(expected))
    if error.size and np.nanmax(np.where(np.isnan(expected), -np.inf, error)) > 0:
        index = np.unravel_index(np.argmax(np.where(np.isnan(expected), -np.inf, error)), error.shape)
        why = _diagnose(got, expected)
        raise CheckFailed(
            f"{name} at index {_index_text(index)}: expected {expected[index]:.10g}, "
            f"got {got[index]:.10g}" + (f"\n  likely cause: {why}" if why else "") + extra)


def check_derivative(name: str, got, forward, x, *, h: float = 1e-5, tol: float = 1e-6,
                     hint: str = "") -> None:
    """Check an elementwise derivative ``got`` = g'(x) against centered differences of the
    reference ``forward`` g, entry by entry (float64)."""
    x = np.asarray(x, dtype=np.float64)
    numeric = (forward(x + h) - forward(x - h)) / (2 * h)
    check_close(name, got, numeric, rtol=tol, atol=1e-8, hint=hint)


def check_gradient(name: str, got, loss, x, *, tol: float = 1e-6, hint: str = "") -> None:
    """Check ``got`` = dL/dx against centered differences of the reference scalar ``loss``
    (float64), entry by entry: |got - numeric| <= 1e-8 + tol |numeric|."""
    numeric = numerical_gradient(loss, np.array(x, dtype=np.float64))
    check_close(name, got, numeric, rtol=tol, atol=1e-8, hint=hint)


def check_no_warnings(name: str, caught: list) -> None:
    """Fail if the student's code emitted numpy warnings (recorded by ``collect``)."""
    if caught:
        message = str(caught[0].message)
        raise CheckFailed(f"{name} emitted a warning ({caught[0].category.__name__}: "
                          f"{message}): the formula overflows or divides by zero for some "
                          "inputs; use a numerically stable form")


def check_not_calling(name: str, module, call) -> None:
    """Fail if ``call()`` runs any function defined in ``module``: the student's code calls the
    reference it is meant to replace (through any alias, since the check follows the calls).
    """
    used = set()

    def record(frame, event, arg):
        if event != "call" or frame.f_code.co_filename != module.__file__:
            return
        caller = frame.f_back
        if caller is None or caller.f_code.co_filename != module.__file__:
            used.add(frame.f_code.co_name)  # an entry point, not the module's own helpers

    previous = sys.getprofile()
    sys.setprofile(record)
    try:
        call()
    finally:
        sys.setprofile(previous)
    if used:
        raise CheckFailed(f"{name} calls {module.__name__} ({', '.join(sorted(used))}), the "
                          "reference it is meant to replace: write the computation yourself")


def _unobserved(function):
    """``function`` with ``check_not_calling``'s observer paused while it runs."""
    @functools.wraps(function)
    def call(*args, **kwargs):
        previous = sys.getprofile()
        sys.setprofile(None)
        try:
            return function(*args, **kwargs)
        finally:
            sys.setprofile(previous)
    return call


@contextlib.contextmanager
def substitute(namespace: dict, **functions):
    """Inside the block, the names ``functions`` in ``namespace`` (the notebook's globals) are
    the given functions (usually the reference's), and are restored afterwards.

    A part that builds on an earlier one is graded with the earlier part's reference in place
    of the student's, so that one mistake costs one part. ``check_not_calling`` does not count
    the calls the substitutes make: they are the grader's, not the student's.
    """
    absent = object()
    saved = {name: namespace.get(name, absent) for name in functions}
    namespace.update({name: _unobserved(f) for name, f in functions.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is absent:
                namespace.pop(name, None)
            else:
                namespace[name] = value


@contextlib.contextmanager
def collect():
    """Run checks, collecting failures into the yielded list instead of stopping at the first.

    Inside the block: warnings are recorded (``failures.warnings``), not printed; anything
    printed to stderr is swallowed; an exception from student code is turned into a failure
    that names it (the block stops there).
    """
    failures = _Failures()
    with warnings.catch_warnings(record=True) as caught, \
            contextlib.redirect_stderr(io.StringIO()), \
            np.errstate(all="warn", under="ignore"):
        warnings.simplefilter("always")
        failures.warnings = caught
        try:
            yield failures
        except CheckFailed as failure:
            failures.append(str(failure))
        except Exception as error:  # the student's code raised: say what and where
            frame = traceback.extract_tb(error.__traceback__)[-1]
            failures.append(f"your code raised {type(error).__name__}: {error} "
                            f"(in {frame.name}, line {frame.lineno})")


class _Failures(list):
    """The failure messages of a ``collect`` block, plus the warnings it recorded."""
    warnings: list

    def summary(self, most: int = 3) -> str:
        """The first ``most`` failures (the rest are usually the same mistake again)."""
        lines = [f"- {f}" for f in self[:most]]
        if len(self) > most:
            lines.append(f"- ... and {len(self) - most} more failed checks")
        return "\n".join(lines)


def attempt(failures: list, check, *args, **kwargs) -> None:
    """Run one check inside ``collect``, recording its failure and carrying on."""
    try:
        check(*args, **kwargs)
    except CheckFailed as failure:
        failures.append(str(failure))
