"""Verification of 05-initialization: the behaviours the hidden tests check, on fresh inputs.

- glorot_uniform, glorot_normal, he_normal: random, so no two correct answers draw the same
  numbers. As in the hidden tests, each is held to the distribution, on generators seeded
  afresh: the shape (one row per input) and float64 for tiny and non-square layers; drawing
  only from the generator given (the same seed gives the same matrix whatever numpy's global
  state, the next draw and another seed give other matrices); on 10^5 weights of layers whose
  fan_in and fan_out differ a lot, Var(W) over the scheme's variance within 4%, the mean within
  6 of its standard errors of 0, and the shape of the distribution (uniform: the largest |w|
  at the bound within 1%, half the weights below half of it within 2%; normal: 68.27% within
  one standard deviation within 2%, some weight beyond 3.5 of them); and, watched on a (5, 3)
  layer, not running course_lib.init's code (the reference cannot be hidden: nn builds its
  layers with it).
  The probe returns each statistic; the parent compares it with the distribution's value, the
  hidden tests' target and tolerance (the reference's own draws, other numbers, only show that
  the probe runs).
- spread and hidden_spreads against course_lib.diagnostics.unit_spread (hidden from the
  child), on weights whose rows have different scales, identical units, models with no hidden
  layer, dropout and batch normalization, and models trained from constant and Glorot weights.
- activation_stds against diagnostics.trace for batches of 1, 4 and 50 through deep tanh and
  ReLU networks, small sigmoid ones and batch normalization in eval mode.
"""

import numpy as np

from course_lib import diagnostics, init, nn, training

from ..verify import call, probe

SETUP = ("setup",)
REFERENCES = ("course_lib.diagnostics",)
INIT_CODE = ("course_lib.init",)  # watched

# 10^5 weights each; fan_in and fan_out differ a lot, so that a formula with the wrong fan fails.
LARGE = [(400, 250), (60, 2000), (1500, 100)]
SMALL = [(1, 1), (1, 7), (7, 1), (5, 3)]
SCHEMES = {  # the initializer: its variance as a formula and a function of the fans, its hint
    "glorot_uniform": ("2 / (fan_in + fan_out)", lambda i, o: 2.0 / (i + o),
                       "U[-r, r] has variance r^2 / 3: r = sqrt(6 / (fan_in + fan_out))"),
    "glorot_normal": ("2 / (fan_in + fan_out)", lambda i, o: 2.0 / (i + o),
                      "the standard deviation is sqrt(2 / (fan_in + fan_out)); rng.normal takes a standard deviation"),
    "he_normal": ("2 / fan_in", lambda i, o: 2.0 / i,
                  "the variance is 2 / fan_in (the number of rows of W), not 2 / fan_out nor Glorot's"),
}
# The shape of the distribution: statistic -> (what it is, its value, rtol, atol, hint).
SHAPE_OF = {
    "glorot_uniform": {
        "largest": ("the largest |w| / sqrt(6 / (fan_in + fan_out))", 1.0, 0.01, 1e-12,
                    "the bound is r = sqrt(6 / (fan_in + fan_out))"),
        "below half": ("the fraction of weights with |w| below half the largest |w|", 0.5, 0.02, 1e-12,
                       "draw from a uniform distribution")},
    "glorot_normal": {
        "within one": ("the fraction of weights within one standard deviation of their mean", 0.6827, 0.02, 1e-12,
                       "draw from a normal distribution"),
        "farthest": ("the largest distance of a weight from the mean, in standard deviations (counted up to "
                     "3.5)", 3.5, 0.0, 0.0, "10^5 draws of a normal reach beyond 3.5 standard deviations "
                     "(a uniform stops at 1.73): not a normal")},
    "he_normal": {
        "within one": ("the fraction of weights within one standard deviation of their mean", 0.6827, 0.02, 1e-12,
                       "draw from a normal distribution")},
}
GENERATOR_HINT = ("draw only from the generator rng: not from np.random.rand, np.random.normal, ..., "
                  "nor from a generator of your own with a fixed seed")
SPREAD_MODELS = {  # label -> nn.mlp's arguments
    "nn.mlp([4, 6, 5, 3])": dict(sizes=[4, 6, 5, 3], activation="tanh"),
    "nn.mlp([3, 2]) (no hidden layer)": dict(sizes=[3, 2], activation="relu"),
    "nn.mlp([5, 4, 2], dropout=0.2)": dict(sizes=[5, 4, 2], activation="relu", dropout=0.2),
    "nn.mlp([2, 3, 7, 4, 2], batchnorm=True)": dict(sizes=[2, 3, 7, 4, 2], activation="tanh", batchnorm=True),
}
STDS_MODELS = {
    "six tanh layers of 20": dict(sizes=[6] + [20] * 6 + [3], activation="tanh"),
    "six ReLU layers of 20 (Glorot)": dict(sizes=[6] + [20] * 6 + [3], activation="relu", init="glorot_uniform"),
    "sigmoid layers of 30 and 10 (N(0, 0.05^2))": dict(sizes=[6, 30, 10, 3], activation="sigmoid",
                                                       init="small normal"),
    "one ReLU layer of 5": dict(sizes=[6, 5, 3], activation="relu"),
    "two tanh layers with batch normalization (eval mode)": dict(sizes=[6, 8, 8, 3], activation="tanh",
                                                                 batchnorm=True, eval_mode=True),
}


# --- the references, in the notebook's conventions ---------------------------------------------

def _hidden_spreads(model):
    linears = [m for m in model.modules if isinstance(m, nn.Linear)]
    return np.array([diagnostics.unit_spread(m.W.value) for m in linears[:-1]])


def _activation_stds(model, X):
    return diagnostics.trace(model, X).std("activations")


REFERENCE = {
    "glorot_uniform": lambda fan_in, fan_out, rng: init.glorot_uniform(fan_in, fan_out, seed=rng),
    "glorot_normal": lambda fan_in, fan_out, rng: init.glorot_normal(fan_in, fan_out, seed=rng),
    "he_normal": lambda fan_in, fan_out, rng: init.he_normal(fan_in, fan_out, seed=rng),
    "hidden_spreads": _hidden_spreads, "activation_stds": _activation_stds, "nn": nn, "training": training,
}


# --- probes: what the child runs (numpy, the notebook's namespace and the arguments only) ------

def initializer_probe(ns, scheme, statistic, fan_in, fan_out, seeds, variance=1.0):
    """One statistic of the weights ``ns[scheme]`` draws from generators seeded by ``seeds``."""
    make = ns[scheme]
    if statistic == "shape and dtype":
        W = make(fan_in, fan_out, np.random.default_rng(seeds[0]))
        return np.zeros(np.shape(W)), float(np.asarray(W).dtype != np.float64)
    if statistic == "generator":
        state = np.random.get_state()  # numpy's global generator: put back as it was
        try:
            np.random.seed(seeds[0])
            first = np.asarray(make(fan_in, fan_out, np.random.default_rng(seeds[1])), dtype=float)
            np.random.seed(seeds[0] + 1)
            again = np.asarray(make(fan_in, fan_out, np.random.default_rng(seeds[1])), dtype=float)
        finally:
            np.random.set_state(state)
        rng = np.random.default_rng(seeds[2])
        same = np.array_equal(make(fan_in, fan_out, rng), make(fan_in, fan_out, rng)) or np.array_equal(
            first, make(fan_in, fan_out, np.random.default_rng(seeds[3])))
        return again - first, float(same)
    W = np.asarray(make(fan_in, fan_out, np.random.default_rng(seeds[0])), dtype=float)
    centred = np.abs(W - W.mean()) / W.std()
    return {"variance": lambda: np.var(W) / variance,
            "mean": lambda: np.mean(W) / np.sqrt(variance / W.size),
            "largest": lambda: np.abs(W).max() / np.sqrt(3.0 * variance),
            "below half": lambda: np.mean(np.abs(W) < np.abs(W).max() / 2),
            "within one": lambda: np.mean(centred < 1),
            "farthest": lambda: min(centred.max(), 3.5)}[statistic]()


def hidden_spreads_probe(ns, *data, sizes, activation, seed, dropout=0.0, batchnorm=False, init=None):
    """hidden_spreads of a new nn.mlp; with data (X, y), after training on it for 3 epochs."""
    model = ns["nn"].mlp(sizes, activation, dropout=dropout, batchnorm=batchnorm, init=init, seed=seed)
    if data:
        X, y = data
        ns["training"].fit(model, X, y.astype(int), lr=0.5, epochs=3, batch_size=20, seed=0, progress=False)
    return np.asarray(ns["hidden_spreads"](model), dtype=float)


def activation_stds_probe(ns, X, sizes, activation, seed, init=None, batchnorm=False, eval_mode=False):
    if init == "small normal":
        def init(fan_in, fan_out, seed=None):  # N(0, 0.05^2): course_lib.init.normal's draws
            return 0.05 * np.random.default_rng(seed).standard_normal((fan_in, fan_out))
    model = ns["nn"].mlp(sizes, activation, batchnorm=batchnorm, init=init, seed=seed)
    if eval_mode:
        model.eval()
    return np.asarray(ns["activation_stds"](model, X), dtype=float)


# --- the calls of each part --------------------------------------------------------------------

def _statistic(scheme, statistic, fan_in, fan_out, seeds, *, label, targets, rtol=1e-7, atol=1e-12,
               hint, **kwargs):
    """A call of initializer_probe whose results must be ``targets``: the distribution's
    values, which the reference's own draws only approach."""
    return probe(initializer_probe, None, scheme=scheme, statistic=statistic, fan_in=fan_in,
                 fan_out=fan_out, seeds=seeds, needs=(scheme,), name=f"{scheme}({fan_in}, {fan_out}, rng)",
                 outputs=label, rtol=rtol, atol=atol, hint=hint, expected=tuple(targets), **kwargs)


def _initializer(rng, scheme):
    formula, variance_of, hint = SCHEMES[scheme]

    def seeds(n):
        return [int(s) for s in rng.integers(2**31, size=n)]

    calls = [_statistic(scheme, "shape and dtype", fan_in, fan_out, seeds(1),
                        label=("np.zeros_like(W) (one row per input, one column per unit)",
                               "1 if W is not float64"),
                        targets=(np.zeros((fan_in, fan_out)), 0.0), hint="return a float64 array (fan_in, fan_out)",
                        watch=INIT_CODE if (fan_in, fan_out) == (5, 3) else ())  # the hidden tests watch (5, 3)
             for fan_in, fan_out in SMALL]
    calls.append(_statistic(
        scheme, "generator", 4, 3, seeds(4), hint=GENERATOR_HINT, targets=(np.zeros((4, 3)), 0.0),
        label=("the second draw from a generator with the same seed, minus the first (numpy's global "
               "generator reseeded in between)", "1 if the next draw or another seed gives the same matrix")))
    for fan_in, fan_out in LARGE:
        variance, drawn = variance_of(fan_in, fan_out), seeds(1)
        calls += [
            _statistic(scheme, "variance", fan_in, fan_out, drawn, variance=variance,
                       label=(f"Var(W) / ({formula})",), targets=(1.0,), rtol=0.04, hint=hint),
            # The mean of n draws has standard deviation sqrt(Var / n): 6 of them is no accident.
            _statistic(scheme, "mean", fan_in, fan_out, drawn, variance=variance,
                       label=("the mean of W in standard errors, sqrt(Var / n)",), targets=(0.0,), rtol=0.0,
                       atol=6.0, hint="the weights must be centred on 0"),
            *(_statistic(scheme, statistic, fan_in, fan_out, drawn, variance=variance, label=(what,),
                         targets=(value,), rtol=rtol, atol=atol, hint=shape_hint)
              for statistic, (what, value, rtol, atol, shape_hint) in SHAPE_OF[scheme].items()),
        ]
    return calls


def _spreads(rng):
    calls = []
    for shape in [(3, 7), (6, 6), (9, 2), (1, 5), (4, 1)]:
        W = rng.standard_normal(shape) * rng.uniform(0.5, 3.0, size=(shape[0], 1))  # rows of different scales
        calls.append(call("spread", diagnostics.unit_spread, W, name=f"spread(W) for W of shape {shape}",
                          hint="the standard deviation of each row (input) across the columns (units), "
                               "then the largest"))
    calls.append(call("spread", diagnostics.unit_spread, np.tile(rng.standard_normal((5, 1)), (1, 4)),
                      name="spread of a layer of identical units (equal columns)"))
    for label, model in SPREAD_MODELS.items():
        calls.append(probe(hidden_spreads_probe, REFERENCE, **model, seed=int(rng.integers(2**31)),
                           needs=("hidden_spreads", "nn"), name=f"hidden_spreads of {label}", outputs=("spreads",),
                           hint="every nn.Linear of model.modules except the last, in order"))
    # The symmetry problem itself: trained from constant weights, the hidden units stay identical.
    X, y = rng.standard_normal((60, 4)), rng.integers(0, 3, size=60).astype(float)
    for scheme in ["constant", "glorot_uniform"]:
        calls.append(probe(hidden_spreads_probe, REFERENCE, X, y, sizes=[4, 8, 8, 3], activation="tanh",
                           init=scheme, seed=int(rng.integers(2**31)),
                           needs=("hidden_spreads", "nn", "training"), outputs=("spreads",),
                           name=f"hidden_spreads after training nn.mlp([4, 8, 8, 3]) from {scheme} weights"))
    return calls


def _activation_stds(rng):
    return [probe(activation_stds_probe, REFERENCE, rng.standard_normal((n, 6)) * 2.0, **model,
                  seed=int(rng.integers(2**31)), needs=("activation_stds", "nn"),
                  name=f"activation_stds for a batch of {n} through {label}", outputs=("stds",),
                  hint="the std of the output of each nn.Activation module (after the nonlinearity), over the "
                       "whole (N, units) array; the last Linear's output is not a hidden layer")
            for label, model in STDS_MODELS.items() for n in [1, 4, 50]]


def parts(rng):
    return {
        "test_glorot_uniform": _initializer(rng, "glorot_uniform"),
        "test_glorot_normal": _initializer(rng, "glorot_normal"),
        "test_he_normal": _initializer(rng, "he_normal"),
        "test_spread": _spreads(rng),
        "test_activation_stds": _activation_stds(rng),
    }
