"""Verification of 02-activations: the behaviours the hidden tests check, on fresh inputs.

Every part is checked on random inputs of the hidden tests' shapes (including 0-d) and
scales, on inputs near +-1000 (overflow), with the default and other arguments, and without
warnings; derivatives also against centered differences of the reference forward, away from
the kinks; relu must not modify its input in place.
"""
import numpy as np

from course_lib import activations as reference

from ..verify import call

SETUP = ("setup",)
REFERENCES = ("course_lib.activations",)

SHAPES = [(4, 3), (7,), (1, 5), (2, 3, 2), (1,), ()]
EXTREME = np.array([-1000.0, -710.0, -40.0, -1e-9, 0.0, 1e-9, 40.0, 710.0, 1000.0])
BIG = "for |x| up to 1000"


def _smooth(x):
    """x moved away from the kink at 0, where finite differences do not apply."""
    return np.where(np.abs(x) < 1e-3, 0.5, x)


def parts(rng):
    def draws(scale):
        return [rng.standard_normal(shape) * scale for shape in SHAPES]

    wide, narrow = draws(6), draws(3)
    return {
        "test_sigmoid": [
            *(call("sigmoid", reference.sigmoid, x) for x in wide),
            call("sigmoid", reference.sigmoid, EXTREME, name=f"sigmoid(x) {BIG}",
                 hint="exponentiate only non-positive numbers: e^{-|x|}"),
        ],
        "test_sigmoid_derivative": [
            *(call("sigmoid_derivative", reference.sigmoid_derivative, x, derivative_of=reference.sigmoid)
              for x in wide),
            call("sigmoid_derivative", reference.sigmoid_derivative, EXTREME,
                 name=f"sigmoid_derivative(x) {BIG}"),
        ],
        "test_relu": [
            *(call("relu", reference.relu, x, unchanged=True) for x in narrow),
            *(call("relu_derivative", reference.relu_derivative, _smooth(x), derivative_of=reference.relu,
                   unchanged=True) for x in narrow),
            call("relu_derivative", reference.relu_derivative, np.zeros(3), name="relu_derivative at exactly 0",
                 hint="the convention is relu'(0) = 0: use x > 0, not x >= 0"),
            call("relu", reference.relu, EXTREME, name=f"relu(x) {BIG}"),
        ],
        "test_leaky_relu": [
            *(c for x in narrow for slope in (0.01, 0.2) for c in (
                call("leaky_relu", reference.leaky_relu, x, slope=slope),
                call("leaky_relu_derivative", reference.leaky_relu_derivative, _smooth(x), slope=slope,
                     derivative_of=reference.leaky_relu, broadcast=True))),
            call("leaky_relu", reference.leaky_relu, EXTREME, name="leaky_relu(x) with the default slope",
                 hint="the default slope is 0.01"),
        ],
        "test_elu": [
            *(c for x in narrow for alpha in (1.0, 0.5) for c in (
                call("elu", reference.elu, x, alpha=alpha),
                call("elu_derivative", reference.elu_derivative, _smooth(x), alpha=alpha,
                     derivative_of=reference.elu))),
            call("elu", reference.elu, EXTREME, name=f"elu(x) {BIG}"),
            call("elu_derivative", reference.elu_derivative, EXTREME, name=f"elu_derivative(x) {BIG}"),
        ],
        "test_softplus": [
            *(call("softplus", reference.softplus, x) for x in wide),
            call("softplus", reference.softplus, EXTREME, name=f"softplus(x) {BIG}",
                 hint="max(x, 0) + log1p(exp(-|x|)) never exponentiates a positive number"),
            call("softplus", reference.softplus, np.array([-30.0, -50.0]), rtol=1e-9, atol=0.0,
                 name="softplus(x) for very negative x (relative precision)",
                 hint="np.log(1 + tiny) rounds 1 + tiny to 1: use np.log1p"),
        ],
        "test_softmax": [
            *(call("softmax", reference.softmax, rng.standard_normal(shape) * 4,
                   hint="normalize each row (axis=1), not each column or the whole matrix")
              for shape in [(1, 1), (1, 4), (5, 3), (3, 10)]),
            call("softmax", reference.softmax, [[1000.0, 999.0, -1000.0], [-1000.0, -1001.0, -1002.0]],
                 name="softmax(x) for scores near +-1000", hint="subtract each row's maximum before exponentiating"),
        ],
    }
