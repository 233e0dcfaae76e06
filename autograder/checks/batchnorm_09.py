"""Verification of 09-batchnorm: the behaviours the hidden tests check, on fresh inputs.

- Part 1 (the training forward): out and the cache (x_hat, gamma, inv_std; inv_std of shape
  (D,) or (1, D)) for batches from 2 to 40 examples and 1 to 7 features, the inputs left
  unchanged; out with eps=0.01 on features of small variance, and for a constant feature
  next to one near 1e6 with spread 1.
- Parts 2 and 3 (the backward, with the cache of the reference forward): dgamma and dbeta,
  then dx, against the reference and against finite differences of the reference forward,
  down to batches of two and gains of either sign; dout and the cache left unchanged (Part 3).
- Part 4: running_mean and running_var after each of four training calls then three
  evaluation calls (batches of 1 to 9 examples, the default and other momenta), out and
  x_hat in training mode, out in evaluation mode (from the running statistics the training
  calls should leave); x, gamma and beta left unchanged. As in the hidden tests, the
  reference batchnorm_train_forward stands in for the notebook's there.

Each part fails, as in the hidden tests, if its function calls course_lib.layers (directly, or
through course_lib.nn's BatchNorm), whose batch normalization it is meant to replace: the call
the hidden tests' check_not_calling watches is watched; and on any warning. course_lib.layers
cannot be hidden from the child: the setup cell imports course_lib.nn, which needs it when it
is imported.
"""
import numpy as np

from course_lib import layers
from course_lib.gradcheck import numerical_gradient

from ..verify import probe, substitute

SETUP = ("setup",)
REFERENCES = ()
LAYERS_CODE = ("course_lib.layers",)  # watched

FORWARD_SHAPES = [(2, 3), (5, 4), (16, 7), (3, 1), (6, 6), (40, 2)]
BACKWARD_SHAPES = [(2, 3), (5, 4), (16, 7), (3, 1), (6, 6), (2, 1)]
TRAINING_BATCHES, EVALUATION_BATCHES = (5, 2, 9, 4), (1, 6, 3)

FORWARD_HINT = ("out = gamma * (x - mean) / sqrt(var + eps) + beta, with the mean and the biased "
                "variance (np.var, ddof=0) of each column (axis=0); inv_std = 1 / sqrt(var + eps)")
DX_HINT = ("dx = (inv_std / N) * (N * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)), with "
           "dx_hat = gamma * dout and the sums over the batch (axis=0); treating the batch mean and "
           "variance as constants gives the evaluation-mode gradient instead")
RUNNING_HINT = "running = (1 - momentum) * running + momentum * (the batch's mean, or biased variance), in place"


# --- the reference, with the notebook's signatures ---------------------------------------------

def _train_forward(x, gamma, beta, eps=1e-5):
    d = x.shape[1]
    out, cache = layers.batchnorm_forward(x, gamma, beta, np.zeros(d), np.ones(d), True, eps=eps)
    return out, cache[:3]


def _backward(dout, cache):
    return layers.batchnorm_backward(dout, (*cache, True))


def _forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    out, cache = layers.batchnorm_forward(x, gamma, beta, running_mean, running_var, train,
                                          momentum=momentum, eps=eps)
    return out, cache[:3] if train else None


REFERENCE = {"batchnorm_train_forward": _train_forward, "batchnorm_backward": _backward,
             "batchnorm_forward": _forward}


# --- probes: run in the child with only np, the notebook's namespace and their arguments --------

def train_forward_probe(ns, x, gamma, beta, returns="all", **options):
    """batchnorm_train_forward(x, gamma, beta, **options): out, or (returns="all") out and the
    cache's x_hat, gamma and inv_std (read as (D,) when it has shape (1, D))."""
    result = ns["batchnorm_train_forward"](x, gamma, beta, **options)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise TypeError(f"batchnorm_train_forward should return the tuple (out, cache), got "
                        f"{type(result).__name__}")
    out, cache = result
    if returns == "out":
        return (out,)
    if not (isinstance(cache, (tuple, list)) and len(cache) == 3):
        raise TypeError("the cache of batchnorm_train_forward should be the tuple (x_hat, gamma, inv_std)")
    x_hat, cache_gamma, inv_std = cache
    if np.shape(inv_std) == (1, x.shape[1]):
        inv_std = inv_std[0]
    return out, x_hat, cache_gamma, inv_std


def backward_probe(ns, x, gamma, beta, dout, returns):
    """batchnorm_backward on copies of dout and of the cache of the reference forward of x:
    returns="parameters": (dgamma, dbeta); "dx": (dx,); "inputs": the dout and cache arrays
    it was given, after the call."""
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + 1e-5)
    cache = ((x - x.mean(axis=0)) * inv_std, gamma.copy(), inv_std)
    given_dout, given_cache = dout.copy(), tuple(a.copy() for a in cache)
    result = ns["batchnorm_backward"](given_dout, given_cache)
    if not (isinstance(result, (tuple, list)) and len(result) == 3):
        raise TypeError(f"batchnorm_backward should return the tuple (dx, dgamma, dbeta), got "
                        f"{type(result).__name__}")
    dx, dgamma, dbeta = result
    if returns == "parameters":
        return dgamma, dbeta
    if returns == "dx":
        return (dx,)
    return (given_dout, *given_cache)


def running_probe(ns, gamma, beta, running_mean, running_var, *batches, training_calls, returns,
                  **options):
    """batchnorm_forward with train=True on the first training_calls batches, then train=False,
    from copies of the running statistics, with a reference batchnorm_train_forward in the
    notebook's place. returns="statistics": running_mean and running_var after each call, one
    row per call; "training": out and x_hat (cache[0]) of the training calls, one batch below
    the other; "evaluation": out of the evaluation calls; "inputs": gamma, beta and the batches
    after the calls."""
    def train_forward(x, gamma, beta, eps=1e-5):
        inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
        x_hat = (x - x.mean(axis=0)) * inv_std
        return gamma * x_hat + beta, (x_hat, gamma, inv_std)

    def batch_shaped(what, value, x):
        if np.shape(value) != x.shape:
            raise ValueError(f"{what} has shape {np.shape(value)}, expected {x.shape}")
        return value

    running_mean, running_var = running_mean.copy(), running_var.copy()
    means, variances, outs, x_hats, evaluations = [], [], [], [], []
    with substitute(ns, batchnorm_train_forward=train_forward):
        for call, x in enumerate(batches, start=1):
            train = call <= training_calls
            result = ns["batchnorm_forward"](x, gamma, beta, running_mean, running_var, train=train, **options)
            if not (isinstance(result, (tuple, list)) and len(result) == 2):
                raise TypeError(f"batchnorm_forward should return the tuple (out, cache), got "
                                f"{type(result).__name__}")
            out, cache = result
            mode = "training" if train else "evaluation"
            out = batch_shaped(f"out of call {call} ({mode} mode)", out, x)
            if train:
                if not (isinstance(cache, (tuple, list)) and len(cache) == 3):
                    raise TypeError("in training mode the cache should be the tuple (x_hat, gamma, inv_std)")
                outs.append(out)
                x_hats.append(batch_shaped(f"x_hat (cache[0]) of call {call}", cache[0], x))
            else:
                evaluations.append(out)
            means.append(np.array(running_mean, dtype=float))
            variances.append(np.array(running_var, dtype=float))
    if returns == "statistics":
        return np.stack(means), np.stack(variances)
    if returns == "training":
        return np.concatenate(outs), np.concatenate(x_hats)
    if returns == "evaluation":
        return (np.concatenate(evaluations),)
    return gamma, beta, np.concatenate(batches)


def not_calling_probe(ns, x, gamma, beta, dout, part):
    """The call of the notebook's ``part`` that the hidden tests' check_not_calling watches,
    made only for the watch (0 when it returns): batchnorm_train_forward(x, gamma, beta);
    batchnorm_backward(dout, the cache of x); batchnorm_forward(x, ...) in training then
    evaluation mode, with a numpy batchnorm_train_forward in place of the notebook's."""
    def train_forward(x, gamma, beta, eps=1e-5):
        inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
        x_hat = (x - x.mean(axis=0)) * inv_std
        return gamma * x_hat + beta, (x_hat, gamma, inv_std)

    d = x.shape[1]
    standin = {"batchnorm_train_forward": train_forward} if part == "batchnorm_forward" else {}
    with substitute(ns, **standin):
        if part == "batchnorm_train_forward":
            ns[part](x, gamma, beta)
        elif part == "batchnorm_backward":
            ns[part](dout.copy(), train_forward(x, gamma, beta)[1])
        else:
            for train in (True, False):
                ns[part](x, gamma, beta, np.zeros(d), np.ones(d), train=train)
    return 0.0


# --- finite differences of the reference forward, in the parent -------------------------------

def _loss(x, gamma, beta, dout):
    """L = sum(out * dout) through the reference forward in training mode: dL/dout = dout."""
    return np.sum(_train_forward(x, gamma, beta)[0] * dout)


def _backward_numerical(x, gamma, beta, dout, returns):
    if returns == "parameters":
        return (numerical_gradient(lambda g: _loss(x, g, beta, dout), gamma.copy()),
                numerical_gradient(lambda b: _loss(x, gamma, b, dout), beta.copy()))
    if returns == "dx":
        return (numerical_gradient(lambda z: _loss(z, gamma, beta, dout), x.copy()),)
    return (None,) * 4


# --- inputs ------------------------------------------------------------------------------------

def _batch(rng, n, d, locations=3.0, scales=(0.5, 2.0)):
    return rng.normal(loc=rng.uniform(-locations, locations, d), scale=rng.uniform(*scales, d), size=(n, d))


def _forward_calls(rng):
    calls = []
    for n, d in FORWARD_SHAPES:
        x, gamma, beta = _batch(rng, n, d, 5.0, (0.3, 3.0)), rng.uniform(0.5, 2.0, d), rng.standard_normal(d)
        calls.append(probe(train_forward_probe, REFERENCE, x, gamma, beta, unchanged=True,
                           name=f"batchnorm_train_forward(x, gamma, beta) for x of shape {(n, d)}",
                           outputs=("out", "x_hat (cache[0])", "gamma (cache[1])", "inv_std (cache[2])"),
                           needs=("batchnorm_train_forward",), hint=FORWARD_HINT))
    gamma, beta = rng.uniform(0.5, 2.0, 3), rng.standard_normal(3)
    small = rng.standard_normal((8, 3)) * rng.uniform([0.02, 0.2, 0.8], [0.08, 0.4, 1.2]) + rng.uniform(-2, 2, 3)
    calls.append(probe(train_forward_probe, REFERENCE, small, gamma, beta, returns="out", eps=0.01,
                       name="batchnorm_train_forward with eps=0.01, for features of small variance",
                       outputs=("out",), needs=("batchnorm_train_forward",),
                       hint="use the eps argument, inside the square root: sqrt(var + eps)"))
    n = int(rng.integers(5, 9))
    extreme = np.column_stack([np.full(n, rng.uniform(-10, 10)), 1e6 + rng.standard_normal(n),
                               rng.standard_normal(n)])
    calls.append(probe(train_forward_probe, REFERENCE, extreme, gamma, beta, returns="out",
                       name="batchnorm_train_forward for a constant feature and a feature near 1e6",
                       outputs=("out",), needs=("batchnorm_train_forward",),
                       hint="compute the variance from the deviations x - mean (np.var does): mean(x**2) - mean**2 "
                            "cancels catastrophically when |mean| >> std; and eps keeps a constant feature finite"))
    return calls


def _backward_problems(rng):
    """(x, gamma, beta, dout) of the hidden tests' kinds: two per shape, gains of either sign."""
    for n, d in BACKWARD_SHAPES:
        for _ in range(2):
            gamma = rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d)
            yield _batch(rng, n, d), gamma, rng.standard_normal(d), rng.standard_normal((n, d))


def _backward_call(problem, returns, outputs, hint, rtol=1e-7, atol=1e-12):
    return probe(backward_probe, REFERENCE, *problem, returns=returns,
                 name=f"batchnorm_backward(dout, cache) for x of shape {problem[0].shape}",
                 outputs=outputs, needs=("batchnorm_backward",), numerical=_backward_numerical,
                 rtol=rtol, atol=atol, hint=hint)


def _running_call(returns, outputs, hint, name, gamma, beta, start, batches, training_calls, options):
    return probe(running_probe, REFERENCE, gamma, beta, *start, *batches, training_calls=training_calls,
                 returns=returns, **options, name=name, outputs=outputs, needs=("batchnorm_forward",), hint=hint)


def _running_calls(rng):
    calls = []
    for d, momentum in [(3, None), (4, rng.uniform(0.2, 0.4)), (1, rng.uniform(0.02, 0.1))]:
        options = {} if momentum is None else {"momentum": float(momentum)}
        setting = f"D = {d}, " + ("the default momentum" if momentum is None else f"momentum = {momentum:.3g}")
        gamma, beta = rng.uniform(0.5, 2.0, d), rng.standard_normal(d)
        running = rng.standard_normal(d), rng.uniform(0.5, 2.0, d)
        training = [_batch(rng, n, d) for n in TRAINING_BATCHES]
        evaluation = [_batch(rng, n, d) for n in EVALUATION_BATCHES]
        sequence = dict(name=f"batchnorm_forward, {len(training)} training calls then {len(evaluation)} "
                             f"evaluation calls ({setting})",
                        gamma=gamma, beta=beta, start=running, batches=training + evaluation,
                        training_calls=len(training), options=options)
        # Evaluation mode is judged from the running statistics the training calls should leave,
        # whatever the notebook's training calls left (the hidden tests use the notebook's own).
        trained = [a.copy() for a in running]
        for x in training:
            _forward(x, gamma, beta, *trained, True, **options)
        evaluations = dict(sequence, start=trained, batches=evaluation, training_calls=0,
                           name=f"batchnorm_forward in evaluation mode for batches of "
                                f"{', '.join(map(str, EVALUATION_BATCHES))} ({setting})")
        calls += [
            _running_call("statistics", ("running_mean after each call (one row per call)",
                                         "running_var after each call (one row per call)"),
                          f"{RUNNING_HINT}; evaluation mode must not update them", **sequence),
            _running_call("training", ("out of the training calls (one batch below the other)",
                                       "x_hat (cache[0]) of the training calls"),
                          "training mode normalizes with the batch's own mean and variance: return what "
                          "batchnorm_train_forward returns", **sequence),
            _running_call("evaluation", ("out (one batch below the other)",),
                          "evaluation mode: out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta, "
                          "not the batch's statistics", **evaluations),
            _running_call("inputs", ("gamma after the calls (it must not change)",
                                     "beta after the calls (it must not change)",
                                     "x of every call, after it (it must not change)"),
                          "only the running statistics are updated in place", **sequence),
        ]
    return calls


def _not_calling(rng, function):
    x, gamma, beta = _batch(rng, 4, 2), rng.uniform(0.5, 2.0, 2), rng.standard_normal(2)
    return probe(not_calling_probe, None, x, gamma, beta, rng.standard_normal((4, 2)), part=function,
                 name=f"{function} for x of shape (4, 2)", needs=(function,), watch=LAYERS_CODE,
                 outputs=("0 (the call is made for the watch only)",), expected=(0.0,))


def parts(rng):
    problems = list(_backward_problems(rng))
    return {
        "test_train_forward": [*_forward_calls(rng), _not_calling(rng, "batchnorm_train_forward")],
        "test_backward_parameters": [
            *(_backward_call(p, "parameters", ("dgamma", "dbeta"),
                             "dbeta is the sum of dout over the batch (axis=0), dgamma the sum of dout * x_hat")
              for p in problems),
            _not_calling(rng, "batchnorm_backward")],
        "test_backward_input": [*(c for p in problems for c in (
            _backward_call(p, "dx", ("dx",), DX_HINT, atol=1e-10),
            _backward_call(p, "inputs", ("dout after the call (it must not change)",
                                         "the cache's x_hat after the call (it must not change)",
                                         "the cache's gamma after the call (it must not change)",
                                         "the cache's inv_std after the call (it must not change)"),
                           "dout *= gamma changes the caller's array: compute dx_hat = dout * gamma; "
                           "never assign into dout or the cache"))),
            _not_calling(rng, "batchnorm_backward")],
        "test_running_statistics": [*_running_calls(rng), _not_calling(rng, "batchnorm_forward")],
    }
