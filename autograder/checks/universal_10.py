"""Verification of 10-universal: the behaviours the hidden tests check, on fresh inputs.

- Part 1: the network built for 2 to 40 random, unevenly spaced knots, at the knots, between
  them and up to 50 beyond either end; its number of parameters and the function its weights
  compute (ReLU(x W1 + b1) W2 + b2); knots and values left unchanged; two knots of value 0.
  The expected values are those of the chapter's construction with the unit at the last knot,
  which equals np.interp to about 1e-11 there (the tolerance is 1e-9).
- Part 2: sup_error for the hidden tests' kinds of target and approximation: the largest gap at
  the interval's ends, a constant gap, f - F negative with its largest size at the right end, a
  grid too coarse to see a wiggle, a network, a grid of one point, and the default grid.
- Part 3: width_error_table for the sine, bumps, abs and exp targets and several widths, with
  correct stand-ins (np.interp) for parts 1 and 2, as in the hidden tests.
- Part 4: fitted_rate of power laws (exact rates) and of noisy errors (the least-squares slope),
  widths given as an integer array, and once as lists.

No call may emit a warning.
"""
import numpy as np

from course_lib import data, nn

from ..verify import probe, substitute

SETUP = ("setup",)
REFERENCES = ()

KNOT_COUNTS = [2, 3, 6, 13, 40]
REGIONS = [
    ("at the knots and between them",
     "unit k is ReLU(x - t_k), weighted by the change of slope at t_k; the output bias is y_0"),
    ("left of the first knot", "np.interp is y_0 there: every unit must be off (ReLU(x - t_k))"),
    ("right of the last knot",
     "np.interp is y_K there: the unit at t_K must bring the slope back to 0 (weight -s_(K-1))"),
]
SUP_HINT = "the max over np.linspace(low, high, n_points) of |f(x) - F(x[:, None])[:, 0]|"
RATE_HINT = ("the slope of log(error) against log(H), both logarithms in the same base; "
             "np.polyfit(u, v, 1) returns [slope, intercept]")


# --- the reference ------------------------------------------------------------------------------

def _network(knots, values):
    slopes = np.diff(values) / np.diff(knots)
    network = nn.mlp([1, len(knots), 1])
    network[0].W.value[:] = 1.0
    network[0].b.value[:] = -knots
    network[2].W.value[:, 0] = np.diff(slopes, prepend=0.0, append=0.0)
    network[2].b.value[:] = values[0]
    return network


def _sup_error(f, F, low, high, n_points=2001):
    x = np.linspace(low, high, n_points)
    return float(np.max(np.abs(f(x) - F(x[:, None])[:, 0])))


def _width_error_table(f, widths, low, high):
    """With np.interp for the network, as the hidden tests' stand-ins."""
    tables = []
    for h in widths:
        knots = np.linspace(low, high, h)
        tables.append(_sup_error(f, lambda x, k=knots: np.interp(x, k, f(k)), low, high))
    return np.array(tables)


def _fitted_rate(widths, errors):
    return np.polyfit(np.log(widths), np.log(errors), 1)[0]


REFERENCE = {"interpolating_network": _network, "sup_error": _sup_error,
             "width_error_table": _width_error_table, "fitted_rate": _fitted_rate, "nn": nn, "data": data}


# --- probes: run in the child with only np, the notebook's namespace and their arguments --------

def network_probe(ns, knots, values, x, returns="outputs"):
    """interpolating_network(knots, values); returns="outputs": F(x) for x given as (M, 1);
    "weights": the network's number of parameters and ReLU(x W1 + b1) W2 + b2 from its weights."""
    network = ns["interpolating_network"](knots, values)
    if returns == "outputs":
        return network(x[:, None].copy())[:, 0]
    W1, b1, W2, b2 = [p.value for p in network.parameters()]
    return network.n_parameters(), (np.maximum(x[:, None] @ W1 + b1, 0.0) @ W2 + b2)[:, 0]


def sup_error_probe(ns, case, low, high, parameter=0.0, **options):
    """sup_error(f, F, low, high, **options) for the target f and approximation F of ``case``."""
    if case == "taylor":
        f, F = np.sin, lambda x: x - x ** 3 / 6
    elif case == "shifted":
        f, F = np.cos, lambda x: np.cos(x) + parameter
    elif case == "negative":
        f, F = lambda x: -x ** 2, lambda x: np.zeros_like(x)
    elif case == "wiggle":
        f, F = np.sin, lambda x: np.sin(x) + 1e-3 * np.sin(parameter * x)
    elif case == "network":
        f, F = ns["data"].FUNCTIONS_1D["bumps"], ns["nn"].mlp([1, 7, 1], seed=int(parameter))
    else:
        f, F = np.exp, lambda x: 1 + x
    return ns["sup_error"](f, F, low, high, **options)


def table_probe(ns, target, widths, low, high):
    """width_error_table(f, widths, low, high) for the target named ``target``, with correct
    stand-ins for interpolating_network and sup_error in the notebook's namespace."""
    def standin_network(knots, values):
        knots, values = np.array(knots, dtype=float), np.array(values, dtype=float)
        return lambda x: np.interp(x, knots, values)

    def standin_error(f, F, low, high, n_points=2001):
        x = np.linspace(low, high, n_points)
        return float(np.max(np.abs(f(x) - F(x[:, None])[:, 0])))

    targets = {"exp": np.exp, "abs": np.abs}
    f = targets[target] if target in targets else ns["data"].FUNCTIONS_1D[target]
    with substitute(ns, interpolating_network=standin_network, sup_error=standin_error):
        return ns["width_error_table"](f, widths, low, high)


def rate_probe(ns, widths, errors, as_lists=False):
    """fitted_rate of the widths as integers (an array, or with as_lists, lists of both)."""
    widths = widths.astype(int)
    if as_lists:
        return ns["fitted_rate"](widths.tolist(), errors.tolist())
    return ns["fitted_rate"](widths, errors)


# --- calls --------------------------------------------------------------------------------------

def _network_calls(rng):
    calls = []
    for n_knots in KNOT_COUNTS:
        gaps = rng.uniform(0.05, 1.0, n_knots - 1)
        knots = rng.uniform(-2, 2) + np.concatenate([[0.0], np.cumsum(gaps)])
        values = rng.standard_normal(n_knots) * 2
        inside = np.concatenate([knots, rng.uniform(knots[0], knots[-1], 200)])
        left, right = knots[0] - rng.uniform(0.0, 50.0, 20), knots[-1] + rng.uniform(0.0, 50.0, 20)
        name = f"interpolating_network(knots, values) for {n_knots} knots"
        for x, (where, hint) in zip([inside, left, right], REGIONS):
            calls.append(probe(network_probe, REFERENCE, knots, values, x, name=name,
                               outputs=(f"F(x) {where}",), needs=("interpolating_network",),
                               rtol=1e-9, atol=1e-9, hint=hint))
        calls.append(probe(network_probe, REFERENCE, knots, values, np.concatenate([left, inside, right]),
                           returns="weights", name=name, unchanged=True,
                           outputs=("the number of parameters",
                                    "ReLU(x W1 + b1) W2 + b2 from the network's weights"),
                           needs=("interpolating_network",), rtol=1e-9, atol=1e-9,
                           hint="nn.mlp([1, K + 1, 1]), one hidden unit per knot, with the function in its weights"))
    low = rng.uniform(-2, 0)
    knots = np.array([low, low + rng.uniform(0.5, 3)])
    x = np.linspace(knots[0] - 0.5, knots[1] + 0.5, 7)
    calls.append(probe(network_probe, REFERENCE, knots, np.zeros(2), x,
                       name="interpolating_network for 2 knots, both of value 0", outputs=("F(x)",),
                       needs=("interpolating_network",),
                       hint="equal values make every slope 0: F is the constant y_0 = 0"))
    return calls


def _sup_error_calls(rng):
    a = rng.uniform(2.5, 3.5)
    start = rng.uniform(-1, 1)
    cases = [  # case, interval, grid size, the case's parameter
        ("taylor", (-a, a), int(rng.integers(1500, 2500)), 0.0),           # largest gap at the ends
        ("shifted", (start, start + rng.uniform(0.5, 2)), int(rng.integers(5, 20)), rng.uniform(0.2, 1.0)),
        ("negative", (rng.uniform(-1.5, -0.5), rng.uniform(1.5, 2.5)), int(rng.integers(200, 400)), 0.0),
        ("wiggle", (0.0, 1.0), int(rng.integers(3, 7)), rng.uniform(30, 50)),  # the grid decides
        ("network", (-1.0, 1.0), int(rng.integers(800, 1200)), int(rng.integers(0, 1000))),
        ("exp", (start, start + rng.uniform(0.5, 2)), 1, 0.0),             # one point: low
    ]
    calls = [probe(sup_error_probe, REFERENCE, case=case, low=float(low), high=float(high),
                   parameter=float(parameter), n_points=n_points, name=f"sup_error ({case}, [{low:.3g}, {high:.3g}], n_points={n_points})",
                   outputs=("the largest error",), needs=("sup_error",), hint=SUP_HINT)
             for case, (low, high), n_points, parameter in cases]
    b = rng.uniform(1.5, 2.5)
    calls.append(probe(sup_error_probe, REFERENCE, case="taylor", low=-float(b), high=float(b),
                       name="sup_error with the default grid", outputs=("the largest error",),
                       needs=("sup_error",), hint="n_points defaults to 2001"))
    return calls


def _table_calls(rng):
    def widths(count, low, high):
        return sorted(int(w) for w in rng.choice(np.arange(low, high), size=count, replace=False))

    a, start = rng.uniform(0.5, 1.5), rng.uniform(-0.5, 0.5)
    cases = [("sine", [2, 3, *widths(4, 4, 40)], (-1.0, 1.0)),
             ("exp", widths(3, 3, 20), (start, start + rng.uniform(1.5, 2.5))),
             ("abs", [2, 3, 4], (-a, a)),
             ("bumps", widths(1, 40, 60), (-1.0, 1.0))]
    return [probe(table_probe, REFERENCE, target=target, widths=ws, low=float(low), high=float(high),
                  name=f"width_error_table({target}, widths {ws}, [{low:.3g}, {high:.3g}])",
                  outputs=("the errors",), needs=("width_error_table",),
                  hint="H units means H knots, np.linspace(low, high, H), and the error on [low, high]")
            for target, ws, (low, high) in cases]


def _rate_calls(rng):
    def widths(count, low, high):
        return np.sort(rng.choice(np.arange(low, high), size=count, replace=False)).astype(float)

    calls = []
    for count, low in [(4, 2), (3, 2), (2, 2), (5, 1)]:
        ws = widths(count, low, 64)
        if low == 1:
            ws[0] = 1.0  # log 1 = 0
        constant, power = rng.uniform(0.2, 30), rng.uniform(-4, 1)
        calls.append(probe(rate_probe, REFERENCE, ws, constant * ws ** power,
                           name=f"fitted_rate of {constant:.3g} H^{power:.3g} at H = {ws.astype(int).tolist()}",
                           outputs=("the rate",), needs=("fitted_rate",), rtol=1e-9, hint=RATE_HINT))
    for n in [3, 6, 12]:
        ws = widths(n, 2, 200)
        calls.append(probe(rate_probe, REFERENCE, ws, np.exp(rng.uniform(-0.5, 0.5, n)) / ws ** 2,
                           name=f"fitted_rate of noisy errors at {n} widths", outputs=("the rate",),
                           needs=("fitted_rate",), rtol=1e-9,
                           hint="a least-squares line through every point, not the slope between the first and last"))
    ws = widths(3, 2, 30)
    calls.append(probe(rate_probe, REFERENCE, ws, rng.uniform(0.5, 2) * ws ** -2.0, as_lists=True,
                       name="fitted_rate of a list of widths and errors", outputs=("the rate",),
                       needs=("fitted_rate",), hint="convert lists with np.asarray before computing with them"))
    return calls


def parts(rng):
    return {
        "test_interpolating_network": _network_calls(rng),
        "test_sup_error": _sup_error_calls(rng),
        "test_width_error_table": _table_calls(rng),
        "test_fitted_rate": _rate_calls(rng),
    }
