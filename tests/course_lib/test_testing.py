"""The checks behind every assignment test: they pass what is right, fail what is wrong, and
name the usual cause."""
import sys

import numpy as np
import pytest

from course_lib.testing import (CheckFailed, attempt, check_close, check_derivative,
                                check_gradient, check_no_warnings, collect)

expected = np.arange(1.0, 7.0).reshape(2, 3)


def _message(got, want=expected, **kwargs):
    with pytest.raises(CheckFailed) as info:
        check_close("result", got, want, **kwargs)
    return str(info.value)


def test_close_values_pass():
    check_close("result", expected + 1e-12, expected)


@pytest.mark.parametrize("got,cause", [
    (-expected, "wrong sign"),
    (2 * expected, "2 times the expected one"),
    (expected / 6, "0.166667 times"),
    (expected + 0.5, "off by the same constant"),
    (expected.T.copy(), "missing transpose"),
    (np.zeros_like(expected), "every value is 0"),
])
def test_recognized_mistakes_are_named(got, cause):
    assert cause in _message(got)


def test_one_value_is_not_a_pattern():
    text = _message([3.0], want=[1.0])
    assert "likely cause" not in text and "expected 1, got 3" in text
    assert "likely cause" not in _message([0.0, 2.0], want=[0.0, 1.0])  # one nonzero entry


def test_message_names_the_worst_entry():
    got = expected.copy()
    got[1, 2] = 60.0
    assert "result at index (1, 2): expected 6, got 60" in _message(got)


def test_none_nan_and_shape():
    assert "forget to `return`" in _message(None)
    with_nan = expected.copy()
    with_nan[0, 1] = np.nan
    assert "overflow" in _message(with_nan)
    assert "shape (3,), expected (2, 3)" in _message(np.ones(3))
    assert "hint: look here" in _message(-expected, hint="look here")


def test_derivative_and_gradient_checks():
    x = np.linspace(-2, 2, 9)
    check_derivative("tanh'", 1 - np.tanh(x) ** 2, np.tanh, x)
    with pytest.raises(CheckFailed, match="tanh'"):
        check_derivative("tanh'", 1 - np.tanh(x), np.tanh, x)
    A = np.random.default_rng(0).standard_normal((4, 4))
    v = np.random.default_rng(1).standard_normal(4)
    check_gradient("dL/dv", (A + A.T) @ v, lambda z: z @ A @ z, v)
    with pytest.raises(CheckFailed, match="transpose|index"):
        check_gradient("dL/dv", 2 * A @ v, lambda z: z @ A @ z, v)


def test_collect_records_warnings_swallows_stderr_and_names_exceptions(capsys):
    def noisy(x):
        print("debug", file=sys.stderr)
        return np.exp(x)

    with collect() as failures:
        noisy(np.array([1000.0]))
        attempt(failures, check_no_warnings, "noisy", failures.warnings)
        attempt(failures, check_close, "noisy(0)", noisy(np.array([0.0])), [2.0])
    assert capsys.readouterr().err == ""
    assert len(failures) == 2 and "overflow" in failures[0] and "noisy(0)" in failures[1]

    with collect() as failures:
        {}["missing"]
    assert len(failures) == 1
    assert failures[0].startswith("your code raised KeyError: 'missing' (in test_collect")


def test_summary_keeps_the_first_failures():
    with collect() as failures:
        for i in range(5):
            attempt(failures, check_close, f"value {i}", 1.0, 2.0)
    text = failures.summary()
    assert "value 0" in text and "value 2" in text and "value 3" not in text
    assert "and 2 more failed checks" in text


def test_check_not_calling_follows_aliases_into_the_module():
    from course_lib import activations, losses
    from course_lib.losses import softmax_cross_entropy as alias
    from course_lib.testing import check_not_calling

    logits, y = np.zeros((2, 3)), np.array([0, 2])
    check_not_calling("own", losses, lambda: activations.softmax(logits))
    with pytest.raises(CheckFailed, match="calls course_lib.losses .softmax_cross_entropy."):
        check_not_calling("aliased", losses, lambda: alias(logits, y))
    assert sys.getprofile() is None


def test_substitute_swaps_functions_for_the_block_and_hides_their_calls():
    from course_lib import activations
    from course_lib.testing import check_not_calling, substitute

    namespace = {"sigmoid": lambda x: "student's", "step": None}
    student = lambda: namespace["sigmoid"](0.0)  # noqa: E731 (a student's function using it)
    with substitute(namespace, sigmoid=activations.sigmoid, relu=activations.relu):
        assert student() == 0.5
        check_not_calling("a part built on a substituted one", activations, student)
        with pytest.raises(CheckFailed, match="relu"):
            check_not_calling("a direct call", activations, lambda: activations.relu(1.0))
    assert student() == "student's" and "relu" not in namespace and sys.getprofile() is None
