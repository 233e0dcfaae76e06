"""Verification of 06-regularization: the behaviours the hidden tests check, on fresh inputs.

l2_penalty: its value and gradients (also against centered differences of the reference) for
the hidden tests' layouts of course_lib.nn.Parameters (1x1, non-square, 3-D weights, biases,
none) and weight decays, the parameters unchanged, a ValueError for a negative decay.
EarlyStopping: the decisions, best_epoch and best_loss of the hidden tests' scripts (ties, NaN
losses, patience 0 and 1, an improvement on the last epoch), whose expectations are the
notebook's rule (course_lib's own stops at once with patience 0), and of random losses with
ties against course_lib's; the state before any update, the ValueError for patience -1; the
values restore writes back, twice, between in-place training steps, and its RuntimeError
before any update. kfold_indices: the folds of the hidden tests' (n, k) with fresh seeds
against course_lib's KFold, integer indices, the ValueErrors. log_uniform and random_search
(with a correct sampler in place of the notebook's log_uniform, as in the hidden tests) are
checked for the hidden tests' properties, since correct answers draw different samples: the
range, the log-uniform law (Kolmogorov-Smirnov distance), shapes, seeding, independence, the
rows and the calls of evaluate, the ValueErrors.

Where the hidden tests check a property rather than compare a value, the probe checks it and
fails with their message (an AssertionError). As the hidden tests' check_not_calling, the
calls (but those of the refusals, and EarlyStopping's initial state) are watched for running
course_lib.regularization's functions, or model_selection's for the last three parts: the
setup needs both modules, so neither can be hidden from the child.
"""
import numpy as np

from course_lib import model_selection, regularization
from course_lib.gradcheck import numerical_gradient
from course_lib.nn import Parameter

from ..verify import probe, substitute

SETUP = ("setup",)
REFERENCES = ()

# (shape, decay) of each parameter: a 1x1 weight, non-square weights, a 3-D weight, biases, none.
LAYOUTS = [[((1, 1), True)], [((3, 5), True), ((5,), False)],
           [((4, 2), True), ((2,), False), ((2, 7), True), ((7,), False)],
           [((2, 3, 2), True), ((6,), False)], [((5,), False), ((1,), False)], [((6, 1), True)], []]
WEIGHT_DECAYS = [0.0, 1e-3, 0.5, 2.0]
TIE = "a tie with the best loss is not an improvement: compare with <, not <="
COUNT = "count the epochs since the best one (this one included) and stop when the count reaches patience"
nan = np.nan
SCRIPTS = [  # (what, patience, losses, epoch at which update returns True or None, best epoch, hint)
    ("the chapter's example", 3, [0.9, 0.7, 0.8, 0.75, 0.72], 5, 2, COUNT),
    ("ties", 2, [1.0, 0.5, 0.5, 0.5], 4, 2, TIE),
    ("an improvement on the last epoch", 3, [1.0, 0.9, 0.95, 0.97, 0.8], None, 5,
     "an epoch that improves resets the count"),
    ("patience 0", 0, [1.0, 0.8, 0.85, 0.7], 3, 2,
     "with patience 0, stop at the first epoch that does not improve, never at one that does"),
    ("patience 0 and a loss that always improves", 0, [1.0, 0.9, 0.8, 0.7], None, 4,
     "an epoch that improves never stops training"),
    ("a loss that never improves after epoch 1", 3, [0.5, 0.6, 0.7, 0.5, 0.4], 4, 1, TIE),
    ("NaN losses", 2, [1.0, nan, 0.9, nan, nan, 0.1], 5, 3,
     "a NaN loss never improves: val_loss < best_loss is False for NaN, but not (val_loss >= best_loss) is True"),
    ("patience 1", 1, [2.0, 1.0, 1.5, 0.5], 3, 2, COUNT),
    ("a single epoch", 5, [0.3], None, 1, "the first epoch always improves on np.inf"),
]
REGULARIZATION, MODEL_SELECTION = ("course_lib.regularization",), ("course_lib.model_selection",)
SPACE = [["lr", 1e-4, 1e-1], ["weight_decay", 1e-6, 1e-2]]  # random_search's space, as [name, low, high]


# --- the probes: run in the child with the notebook's namespace `ns` (and here with the reference's).

def l2_probe(ns, *values, decays, weight_decay, output):
    """l2_penalty on Parameters holding `values`: its "value", or its "gradient" (each
    parameter's, then each parameter's value after the call), or whether it "refuses" the decay."""
    params = [ns["Parameter"](v, f"p{i}", decay=d) for i, (v, d) in enumerate(zip(values, decays))]
    if output == "refuses":
        try:
            ns["l2_penalty"](params, weight_decay)
        except ValueError:
            return 1.0
        raise AssertionError(f"l2_penalty(params, weight_decay={weight_decay}) returned instead of raising a "
                             "ValueError")
    value, grads = ns["l2_penalty"](params, weight_decay)
    if output == "value":
        return value
    grads = list(grads) if isinstance(grads, (list, tuple)) else grads
    if not isinstance(grads, list) or len(grads) != len(params):
        got = f"a list of {len(grads)}" if isinstance(grads, list) else type(grads).__name__
        raise AssertionError(f"grads should be a list of {len(params)} arrays, one per parameter in the order of "
                             f"params (zeros for parameters with decay False), got {got}")
    return (*grads, *[p.value for p in params])


def early_stopping_probe(ns, losses, patience, best_loss_too):
    """Feed `losses` to EarlyStopping(patience) (with no parameters) until update returns
    True: the decisions, best_epoch (-1 for None) and, if asked, best_loss."""
    stopper, decisions = ns["EarlyStopping"](patience), []
    for loss in losses:
        decisions.append(bool(stopper.update(loss, [])))
        if decisions[-1]:
            break
    best_epoch, best_loss = stopper.best_epoch, stopper.best_loss
    best_epoch = -1.0 if best_epoch is None else best_epoch
    return (np.array(decisions, dtype=float), best_epoch, best_loss) if best_loss_too \
        else (np.array(decisions, dtype=float), best_epoch)


def early_stopping_start(ns):
    """EarlyStopping(4) before any update (best_epoch None, best_loss inf, as 1 or 0), and
    the ValueError of EarlyStopping(-1)."""
    fresh = ns["EarlyStopping"](4)
    try:
        ns["EarlyStopping"](-1)
    except ValueError:
        pass
    else:
        raise AssertionError("EarlyStopping(patience=-1) returned instead of raising a ValueError")
    return float(fresh.best_epoch is None), float(fresh.best_loss == np.inf)


def restore_probe(ns, *arrays, losses, count):
    """`count` Parameters (the first arrays) trained by in-place steps (the other arrays, one per
    parameter per epoch) while EarlyStopping(10) sees `losses`; then twice restore, and more
    steps: the values after each restore. Also restore before any update must raise a RuntimeError."""
    params = [ns["Parameter"](v.copy(), f"p{i}", decay=i % 2 == 0) for i, v in enumerate(arrays[:count])]
    steps, restored = iter(arrays[count:]), []
    try:
        ns["EarlyStopping"](2).restore([ns["Parameter"](np.zeros(2), "w")])
    except RuntimeError:
        pass
    else:
        raise AssertionError("restore() before any update returned instead of raising a RuntimeError")
    stopper = ns["EarlyStopping"](10)
    for loss in losses:
        for p in params:  # a training step, in place as optimizers do
            p.value += next(steps)
        stopper.update(loss, params)
    for _ in range(2):
        stopper.restore(params)
        restored += [p.value.copy() for p in params]
        for p in params:  # more training
            p.value += next(steps)
    return tuple(restored)


def kfold_probe(ns, n, k, seed, refused=False):
    """kfold_indices(n, k, seed): each fold's sorted validation and training indices; with
    `refused`, whether it raises a ValueError."""
    if refused:
        try:
            ns["kfold_indices"](n, k, seed)
        except ValueError:
            return 1.0
        raise AssertionError(f"kfold_indices(n={n}, k={k}) returned instead of raising a ValueError "
                             "(2 <= k <= n)")
    folds = list(ns["kfold_indices"](n, k, seed))
    if len(folds) != k:
        raise AssertionError(f"returned {len(folds)} folds, expected {k}")
    pairs = [(np.asarray(train), np.asarray(val)) for train, val in folds]
    if any(a.dtype.kind not in "iu" for pair in pairs for a in pair):
        raise AssertionError("the indices should be integer arrays (np.intp), not floats")
    return tuple(np.sort(a) for train, val in pairs for a in (val, train))


def log_uniform_probe(ns, check, low=1e-3, high=1.0, size=5, seed=0):
    """The hidden tests' checks of log_uniform: "law" (range and KS distance of the logs),
    "shape" (zeros of the shape it returns), "seeded" (one seed, one sample; different
    draws otherwise), "refused" (a ValueError for a bad range)."""
    log_uniform, rng = ns["log_uniform"], np.random.default_rng
    size = tuple(size) if isinstance(size, list) else size
    if check == "refused":
        try:
            log_uniform(low, high, size, rng(seed))
        except ValueError:
            return 0.0
        raise AssertionError(f"log_uniform({low:g}, {high:g}, ...) returned instead of raising a ValueError "
                             "(0 < low < high)")
    if check == "shape":
        return np.zeros(np.shape(log_uniform(low, high, size, rng(seed))))
    if check == "seeded":
        first, again = (np.asarray(log_uniform(low, high, size, rng(seed)), dtype=float) for _ in range(2))
        generator = rng(seed + 1)
        a, b = log_uniform(low, high, size, generator), log_uniform(low, high, size, generator)
        other = log_uniform(low, high, size, rng(seed + 2))
        if first.shape != again.shape or not np.all(np.abs(again - first) <= 1e-12 + 1e-7 * np.abs(first)):
            raise AssertionError("two generators seeded alike gave different samples: draw from the rng you are "
                                 "given, not from np.random")
        if np.allclose(a, b) or np.allclose(first, other):
            raise AssertionError("log_uniform gives the same samples for different seeds, or twice from one "
                                 "generator: draw from the rng argument (do not create a generator of your own)")
        return 0.0
    x = np.asarray(log_uniform(low, high, size, rng(seed)), dtype=float)
    if x.shape != (size,) or not np.all(np.isfinite(x)):
        raise AssertionError(f"should return {size} finite samples, got shape {x.shape}")
    outside = x[(x < low * (1 - 1e-12)) | (x > high * (1 + 1e-12))]
    if outside.size:
        raise AssertionError(f"{outside.size} samples outside [{low:g}, {high:g}], e.g. {outside[0]:.4g}; "
                             "exponentiate a uniform sample of [log low, log high), with the same base for the log "
                             "and the exponential")
    u = np.sort((np.log(x) - np.log(low)) / (np.log(high) - np.log(low)))
    # Kolmogorov-Smirnov distance to the uniform law: about 0.006 for a correct sampler with 20,000 samples.
    if np.max(np.abs(u - (np.arange(1, size + 1) - 0.5) / size)) > 0.02:
        quarters = np.histogram(u, bins=4, range=(0.0, 1.0))[0] / size
        raise AssertionError(f"the logs of the samples are not uniform on [log low, log high): the shares of the "
                             f"four quarters of that range are {np.round(quarters, 3).tolist()}, expected 0.25 each; "
                             "draw the *log* uniformly and exponentiate")
    return 0.0


def random_search_probe(ns, space, n_iter, seed, check):
    """The hidden tests' checks of random_search(evaluate, space, n_iter, seed), with a correct
    log_uniform in place of the notebook's: "rows" (the calls of evaluate and the rows),
    "seeded" (the same table for one seed, another for the next), "law" (log-uniform and
    independent hyperparameters over n_iter runs), "refused" (a ValueError for n_iter 0, -3)."""
    def score_of(params):
        return float(sum(np.log(v) * len(name) for name, v in params.items()))

    def search(seed, n_iter=n_iter):
        """The rows (as dicts) and the dicts evaluate was given."""
        calls = []

        def evaluate(params):
            calls.append(dict(params))
            return score_of(params)
        return [dict(row) for row in ns["random_search"](evaluate, ranges, n_iter, seed)], calls

    ranges = {name: (low, high) for name, low, high in space}
    def log_uniform(low, high, size, rng):
        return np.exp(rng.uniform(np.log(low), np.log(high), size))

    with substitute(ns, log_uniform=log_uniform):
        if check == "refused":
            for bad in [0, -3]:
                try:
                    search(seed, bad)
                except ValueError:
                    continue
                raise AssertionError(f"random_search(..., n_iter={bad}) returned instead of raising a ValueError")
            return 0.0
        if check == "seeded":
            tables = [[[row[name] for name in ranges] for row in search(s)[0]] for s in (seed, seed, seed + 1)]
        else:
            rows, calls = search(seed)
    if check == "seeded":
        first, again, other = (np.array(t, dtype=float) for t in tables)
        if first.shape != again.shape or not np.all(np.abs(again - first) <= 1e-12 + 1e-7 * np.abs(first)):
            raise AssertionError(f"run twice with seed {seed}, it gave different tables: draw everything from "
                                 "rng = np.random.default_rng(seed)")
        if first.shape == other.shape and np.allclose(first, other):
            raise AssertionError(f"it gives the same table for seeds {seed} and {seed + 1}: draw from "
                                 "np.random.default_rng(seed)")
        return 0.0
    if check == "law":
        logs = {name: (np.log([row[name] for row in rows]) - np.log(low)) / (np.log(high) - np.log(low))
                for name, (low, high) in ranges.items()}
        for name, u in logs.items():
            u = np.sort(u)
            if np.max(np.abs(u - (np.arange(1, len(u) + 1) - 0.5) / len(u))) > 0.04:
                raise AssertionError(f"over {n_iter} runs the log of {name} is not uniform on its range (log-range "
                                     f"quarters: {np.round(np.histogram(u, 4, (0, 1))[0] / len(u), 3).tolist()}); "
                                     "sample every hyperparameter with log_uniform(low, high, ...)")
        correlation = np.corrcoef(*logs.values())[0, 1]
        if not abs(correlation) < 0.1:
            raise AssertionError(f"over {n_iter} runs the logs of {' and '.join(logs)} have correlation "
                                 f"{correlation:.2f}; they should be independent (about 0): one generator for "
                                 "everything, a separate draw for each hyperparameter")
        return 0.0
    if len(calls) != n_iter or len(rows) != n_iter:
        raise AssertionError(f"it called evaluate {len(calls)} times and returned {len(rows)} rows; expected "
                             f"{n_iter} of each")
    bad = [set(c) for c in calls if set(c) != set(ranges)]
    if bad:
        raise AssertionError(f"evaluate should get a dict of the hyperparameters {sorted(ranges)}, got keys "
                             f"{sorted(bad[0])}")
    if any(set(row) != set(ranges) | {"score"} for row in rows):
        raise AssertionError(f"each row should hold the keys {sorted(ranges) + ['score']}, got {sorted(rows[0])}")
    for i, (row, call) in enumerate(zip(rows, calls)):
        for name, (low, high) in ranges.items():
            if np.ndim(row[name]) != 0 or not low * (1 - 1e-12) <= float(row[name]) <= high * (1 + 1e-12):
                raise AssertionError(f"row {i} has {name} = {row[name]!r}, expected a number in [{low:g}, {high:g}]")
        got, want = np.array([row[name] for name in ranges], dtype=float), np.array([call[name] for name in ranges])
        if not np.all(np.abs(got - want) <= 1e-12 + 1e-7 * np.abs(want)):
            raise AssertionError(f"the hyperparameters of row {i} are {got.tolist()}, but evaluate was given "
                                 f"{want.tolist()}: give evaluate a new dict for every run and keep it in that "
                                 "run's row")
        if not abs(float(row["score"]) - score_of(call)) <= 1e-12 + 1e-7 * abs(score_of(call)):
            raise AssertionError(f"the score of row {i} is {row['score']!r}, but evaluate returned {score_of(call)!r}")
    if n_iter > 1 and len({tuple(c.values()) for c in calls}) < n_iter:
        raise AssertionError("some runs have identical hyperparameters; draw new values for every run")
    return 0.0


# --- the references, behind the notebook's interfaces ---------------------------------------------

class _Params:
    """A list of Parameters as the model whose state course_lib's EarlyStopping keeps."""

    def __init__(self, params):
        self.params = params

    def state_dict(self):
        return [p.value.copy() for p in self.params]

    def load_state_dict(self, state):
        for p, value in zip(self.params, state):
            p.value[...] = value


class _EarlyStopping:
    """course_lib's EarlyStopping, updated with a list of Parameters."""

    def __init__(self, patience):
        self.stopper = regularization.EarlyStopping(patience)

    def update(self, val_loss, params):
        return self.stopper.update(val_loss, _Params(params))

    def restore(self, params):
        self.stopper.restore(_Params(params))

    best_epoch = property(lambda self: self.stopper.best_epoch)
    best_loss = property(lambda self: self.stopper.best_metric)


class _Script:
    """A hidden test's scripted expectations: update returns True at epoch stop_at (None: never)."""

    def __init__(self, stop_at, best_epoch, best_loss):
        self.stop_at, self.best_epoch, self.best_loss, self.epoch = stop_at, best_epoch, best_loss, 0

    def update(self, val_loss, params):
        self.epoch += 1
        return self.epoch == self.stop_at


def _log_uniform(low, high, size, rng):
    distribution = model_selection.LogUniform(low, high)  # refuses a bad range
    return np.clip(np.exp(rng.uniform(np.log(low), np.log(high), size)), distribution.low, distribution.high)


def _random_search(evaluate, space, n_iter, seed):
    distributions = {name: model_selection.LogUniform(low, high) for name, (low, high) in space.items()}
    return model_selection.random_search(evaluate, distributions, n_iter, seed=seed).rows


REFERENCE = {
    "Parameter": Parameter,
    "l2_penalty": regularization.l2_penalty,
    "EarlyStopping": _EarlyStopping,
    "kfold_indices": lambda n, k, seed: list(model_selection.KFold(k, shuffle=True, seed=seed).split(np.arange(n))),
    "log_uniform": _log_uniform,
    "random_search": _random_search,
}


def _l2_numerical(*values, decays, weight_decay, output):
    """Centered differences of the reference penalty in each parameter's entries; none for the
    values after the call."""
    def penalty_of(decay):
        return lambda v: regularization.l2_penalty([Parameter(v, "p", decay=decay)], weight_decay)[0]
    return (*[numerical_gradient(penalty_of(d), v) for v, d in zip(values, decays)], *[None] * len(values))


# --- the parts -----------------------------------------------------------------------------------

def _layout(rng, layout):
    values = [rng.standard_normal(shape) * 2 for shape, _ in layout]
    decays = [decay for _, decay in layout]
    described = ", ".join(f"{shape} decay={decay}" for shape, decay in layout) or "no parameters"
    return values, decays, described


def _l2_value(rng):
    calls = []
    for layout in LAYOUTS:
        for lam in WEIGHT_DECAYS:
            values, decays, described = _layout(rng, layout)
            calls.append(probe(l2_probe, REFERENCE, *values, decays=decays, weight_decay=lam, output="value",
                               outputs=("value",), needs=("l2_penalty", "Parameter"), watch=REGULARIZATION,
                               name=f"the penalty for parameters [{described}], weight_decay={lam}",
                               hint="(weight_decay / 2) times the sum of the squares of every entry of the parameters "
                               "with decay True (twice the expected value: the 1/2 is missing); parameters with "
                               "decay False add nothing"))
    calls.append(probe(l2_probe, REFERENCE, np.ones((2, 2)), decays=[True], weight_decay=-0.5, output="refuses",
                       outputs=("refused",), needs=("l2_penalty", "Parameter"),
                       name="l2_penalty(params, weight_decay=-0.5)"))
    return calls


def _l2_gradient(rng):
    calls = []
    for layout in LAYOUTS[:-1]:
        for lam in WEIGHT_DECAYS:
            values, decays, described = _layout(rng, layout)
            outputs = (*[f"the gradient for the parameter of shape {v.shape} with decay={d}"
                         for v, d in zip(values, decays)],
                       *[f"the parameter of shape {v.shape} after l2_penalty (it must not change)" for v in values])
            calls.append(probe(l2_probe, REFERENCE, *values, decays=decays, weight_decay=lam, output="gradient",
                               outputs=outputs, needs=("l2_penalty", "Parameter"), numerical=_l2_numerical,
                               watch=REGULARIZATION,
                               name=f"l2_penalty for parameters [{described}], weight_decay={lam}",
                               hint="weight_decay * p.value for a penalized parameter (the 1/2 of the penalty cancels "
                               "the 2 of the square), np.zeros_like(p.value) for one with decay False, as new "
                               "arrays (*= changes the model)"))
    return calls


def _early_stopping(rng):
    calls = [probe(early_stopping_start, {"EarlyStopping": _EarlyStopping},
                   outputs=("best_epoch is None (1 if so)", "best_loss is np.inf (1 if so)"),
                   needs=("EarlyStopping",), name="EarlyStopping(4) before any update",
                   hint="before any update, best_epoch should be None and best_loss np.inf")]
    for what, patience, losses, stop_at, best, hint in SCRIPTS:
        script = {"EarlyStopping": lambda patience, s=stop_at, b=best, l=losses[best - 1]: _Script(s, b, l)}
        shown = ", ".join(f"{v:g}" for v in losses)
        calls.append(probe(early_stopping_probe, script, losses=losses, patience=patience, best_loss_too=True,
                           outputs=("what update() returned at each epoch (1 = stop)",
                                    "best_epoch (epochs count from 1; -1 for None)", "best_loss"),
                           needs=("EarlyStopping",), hint=hint, watch=REGULARIZATION,
                           name=f"{what} (patience {patience}, validation losses {shown})"))
    for _ in range(12):  # random losses with ties, against course_lib's
        patience, losses = int(rng.integers(1, 5)), [float(v) for v in np.round(rng.uniform(0.0, 1.0, 15), 1)]
        calls.append(probe(early_stopping_probe, REFERENCE, losses=losses, patience=patience, best_loss_too=False,
                           outputs=("what update() returned at each epoch (1 = stop)",
                                    "best_epoch (epochs count from 1; -1 for None)"),
                           needs=("EarlyStopping",), hint=f"{TIE}; {COUNT}", watch=REGULARIZATION,
                           name=f"patience {patience}, validation losses {', '.join(f'{v:g}' for v in losses)}"))
    return calls


def _early_stopping_restore(rng):
    shapes = [(1, 1), (3, 5), (5,), (2, 3, 2)]
    # No ties, no NaN and a large patience: only the keeping and restoring matter here.
    runs = [[0.9, 0.6, 0.4, 0.5, 0.45, 0.7], [1.0, 0.8, 0.7, 0.65], [0.3, 0.5, 0.6], [2.0, 1.0, 1.5, 0.9, 1.1]]
    calls = []
    for losses in runs:
        losses = list(np.array(losses)[rng.permutation(len(losses))])
        arrays = [rng.standard_normal(shape) for _ in range(len(losses) + 3) for shape in shapes]
        best = int(np.argmin(losses)) + 1
        outputs = [f"the parameter of shape {shape} restored{when}" for when in ("", " a second time, after more "
                   "training steps") for shape in shapes]
        calls.append(probe(restore_probe, REFERENCE, *arrays, losses=[float(v) for v in losses], count=len(shapes),
                           outputs=tuple(outputs), needs=("EarlyStopping", "Parameter"), watch=REGULARIZATION,
                           name=f"EarlyStopping(10) after losses {', '.join(f'{v:g}' for v in losses)} (best epoch "
                           f"{best}) and in-place training steps",
                           hint="store copies (p.value.copy()) when an epoch improves, and copy them back into "
                           "p.value[...] on restore: the optimizer changes these arrays in place"))
    return calls


def _kfold(rng):
    # Uneven and even folds, two examples, leave-one-out (k = n), many examples.
    calls = []
    for n, k in [(7, 3), (10, 10), (2, 2), (12, 4), (23, 5), (101, 7), (5, 4), (40, 40)]:
        seed = int(rng.integers(0, 2**31))
        outputs = tuple(f"sorted {what} indices of fold {j}" for j in range(k) for what in ("validation", "training"))
        calls.append(probe(kfold_probe, REFERENCE, n=n, k=k, seed=seed, outputs=outputs, needs=("kfold_indices",),
                           watch=MODEL_SELECTION,
                           name=f"kfold_indices(n={n}, k={k}, seed={seed})",
                           hint="shuffle with order = np.random.default_rng(seed).permutation(n), then cut order into "
                           "k consecutive blocks, the first n % k of them holding n // k + 1 examples and the "
                           "others n // k; train on every example outside the fold, each once"))
    for n, k in [(5, 1), (5, 6), (1, 2)]:
        calls.append(probe(kfold_probe, REFERENCE, n=n, k=k, seed=0, refused=True, outputs=("refused",),
                           needs=("kfold_indices",), name=f"kfold_indices(n={n}, k={k}, seed=0)"))
    return calls


def _log_uniform_calls(rng):
    def seed():
        return int(rng.integers(0, 2**31))

    calls = []
    for low, high in [(1e-4, 1e-1), (1e-6, 1e-2), (0.5, 2.0), (3.0, 3000.0)]:
        s = seed()
        calls.append(probe(log_uniform_probe, REFERENCE, check="law", low=low, high=high, size=20_000, seed=s,
                           outputs=("checks",), needs=("log_uniform",), watch=MODEL_SELECTION,
                           name=f"log_uniform({low:g}, {high:g}, 20000, np.random.default_rng({s}))"))
    calls += [probe(log_uniform_probe, REFERENCE, check="shape", size=size, seed=seed(), outputs=("samples",),
                    needs=("log_uniform",), watch=MODEL_SELECTION, name=f"log_uniform(1e-3, 1.0, size={size!r}, rng)",
                    hint="return an array of shape size: pass size on to the generator")
              for size in [[3, 4], [1], 1, [2, 1, 3]]]
    calls.append(probe(log_uniform_probe, REFERENCE, check="seeded", low=1e-5, high=1e-1, size=50, seed=seed(),
                       outputs=("checks",), needs=("log_uniform",), watch=MODEL_SELECTION,
                       name="log_uniform(1e-5, 0.1, 50, rng) from generators seeded alike and differently"))
    calls += [probe(log_uniform_probe, REFERENCE, check="refused", low=low, high=high, outputs=("checks",),
                    needs=("log_uniform",), name=f"log_uniform({low:g}, {high:g}, 5, rng)")
              for low, high in [(0.0, 1.0), (-1.0, 1.0), (1e-2, 1e-3), (0.1, 0.1)]]
    return calls


def _random_search_calls(rng):
    def seed():
        return int(rng.integers(0, 2**31))

    def search(space, n_iter, check, name):
        return probe(random_search_probe, REFERENCE, space=space, n_iter=n_iter, seed=seed(), check=check,
                     outputs=("checks",), needs=("random_search",), name=name,
                     watch=() if check == "refused" else MODEL_SELECTION)

    def shown(space):
        return "{" + ", ".join(f"{name!r}: ({low:g}, {high:g})" for name, low, high in space) + "}"

    spaces = [(SPACE, 25), ([["lr", 1e-3, 1.0]], 7), ([["a", 1e-2, 1.0], ["b", 1.0, 10.0], ["c", 1e-8, 1e-7]], 1)]
    return [*(search(space, n_iter, "rows", f"random_search(evaluate, {shown(space)}, n_iter={n_iter})")
              for space, n_iter in spaces),
            search(SPACE, 10, "seeded", f"random_search(evaluate, {shown(SPACE)}, n_iter=10) with two seeds"),
            search(SPACE, 4000, "law", f"random_search(evaluate, {shown(SPACE)}, n_iter=4000)"),
            search(SPACE, 0, "refused", "random_search(evaluate, space, n_iter) for n_iter 0 and -3")]


def parts(rng):
    return {
        "test_l2_value": _l2_value(rng),
        "test_l2_gradient": _l2_gradient(rng),
        "test_early_stopping": _early_stopping(rng),
        "test_early_stopping_restore": _early_stopping_restore(rng),
        "test_kfold": _kfold(rng),
        "test_log_uniform": _log_uniform_calls(rng),
        "test_random_search": _random_search_calls(rng),
    }
