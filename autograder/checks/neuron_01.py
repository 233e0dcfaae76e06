"""Verification of 01-neuron: the behaviours the hidden tests check, on fresh inputs.

Every function is called as the hidden tests call it (positional arguments, Python numbers,
integer labels) on random inputs of their shapes (a batch of 1, non-square) and scales, and
on sums z = x . w + b that are exactly 0, where a unit fires: threshold_unit, line_accuracies
and perceptron_update against course_lib.neuron, gate_weights by the truth table of a threshold
unit with its weights, logistic_loss for logits up to +-1000, logistic_gradient also against
centered differences of the mean cross-entropy. As in the hidden tests, train_perceptron runs
with the reference perceptron_update and threshold_unit in place of the notebook's, and
logistic_gradient and train_logistic with the reference predict_proba, logistic_loss (and
logistic_gradient); threshold_unit, perceptron_update, train_perceptron and logistic_gradient
must leave their array arguments as they were. No part may emit a warning.
"""
import numpy as np

from course_lib import data, neuron as reference
from course_lib.gradcheck import numerical_gradient

from ..verify import probe, substitute

SETUP = ("setup",)
REFERENCES = ("course_lib.neuron", "course_lib.losses")

CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
GATE_INPUTS = {"and": CORNERS, "or": CORNERS, "nand": CORNERS, "not": np.array([[0.0], [1.0]])}
GATES = {"and": reference.and_gate(), "or": reference.or_gate(), "nand": reference.nand_gate(),
         "not": reference.not_gate()}


# --- the probes: run in the child with the notebook's namespace `ns` (and here with the reference's)

def threshold_outputs(ns, X, w, b):
    return ns["threshold_unit"](X, w, b)


def gate_truth_table(ns, inputs, gate):
    w, b = ns["gate_weights"](gate)
    w = np.asarray(w, dtype=float)
    if w.shape != (inputs.shape[1],):
        raise ValueError(f"the weights of the '{gate}' gate have shape {w.shape}, expected ({inputs.shape[1]},)")
    return (inputs @ w + float(b) >= 0).astype(float)


def accuracies(ns, X, y, W, b, best=False):
    result = ns["line_accuracies"](X, y.astype(int), W, b)
    return np.max(result) if best else result


def perceptron_step(ns, w, x, b, y, lr):
    new_w, new_b, mistake = ns["perceptron_update"](w, b, x, y, lr)
    return new_w, new_b, float(mistake)


def perceptron_training(ns, X, y, lr, max_epochs, seed):
    """train_perceptron with the reference rule and unit in place of the notebook's."""
    def update(w, b, x, y, lr=1.0):
        error = y - (1 if x @ w + b >= 0 else 0)
        return w + lr * error * x, b + lr * error, bool(error)

    def unit(X, w, b):
        outputs = (np.atleast_2d(np.asarray(X, dtype=float)) @ w + b >= 0).astype(np.intp)
        return outputs if np.ndim(X) == 2 else outputs[0]

    with substitute(ns, perceptron_update=update, threshold_unit=unit):
        w, b, errors = ns["train_perceptron"](X, y.astype(int), lr=lr, max_epochs=max_epochs, seed=seed)
    return np.asarray(errors, dtype=float), w, b


def probabilities(ns, X, w, b):
    return ns["predict_proba"](X, w, b)


def mean_cross_entropy(ns, X, y, w, b):
    return ns["logistic_loss"](X, y.astype(int), w, b)


def stable_predict_proba(X, w, b):
    """The reference predict_proba, for probes that put it in place of the notebook's."""
    z = np.asarray(X, dtype=float) @ w + b
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def stable_logistic_loss(X, y, w, b):
    """The reference logistic_loss, likewise."""
    z = np.asarray(X, dtype=float) @ w + b
    return float(np.sum(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z)))) / len(z))


def reference_logistic_gradient(X, y, w, b):
    """The reference logistic_gradient, likewise."""
    dz = (stable_predict_proba(X, w, b) - y) / len(X)
    return np.asarray(X, dtype=float).T @ dz, float(dz.sum())


PROBE_HELPERS = ("stable_predict_proba", "stable_logistic_loss", "reference_logistic_gradient")


def logistic_gradients(ns, X, y, w, b):
    """logistic_gradient with the reference predict_proba and logistic_loss in place of the notebook's."""
    with substitute(ns, predict_proba=stable_predict_proba, logistic_loss=stable_logistic_loss):
        dw, db = ns["logistic_gradient"](X, y.astype(int), w, b)
    return dw, db


def logistic_training(ns, X, y, lr, n_steps):
    """train_logistic with the reference predict_proba, logistic_loss and logistic_gradient."""
    with substitute(ns, predict_proba=stable_predict_proba, logistic_loss=stable_logistic_loss,
                    logistic_gradient=reference_logistic_gradient):
        w, b, history = ns["train_logistic"](X, y.astype(int), lr=lr, n_steps=n_steps)
    return np.asarray(history, dtype=float), w, b


# --- the references, in the probes' terms --------------------------------------------------------

def _unit(w, b):
    unit = reference.LogisticNeuron()
    unit.coef_, unit.intercept_ = np.array(w, dtype=float), float(b)
    return unit


def _line_accuracies(X, y, W, b):
    return np.array([np.mean(reference.ThresholdUnit(W[k], b[k]).predict(X) == y) for k in range(len(W))])


def _train_perceptron(X, y, lr, max_epochs, seed):
    fitted = reference.Perceptron(lr=lr, max_epochs=max_epochs, seed=seed).fit(X, y)
    return fitted.coef_, fitted.intercept_, fitted.errors_per_epoch_


def _train_logistic(X, y, lr, n_steps):
    fitted = reference.LogisticNeuron(lr=lr, n_epochs=n_steps).fit(X, y)
    return fitted.coef_, fitted.intercept_, fitted.loss_history_


REFERENCE = {
    "threshold_unit": lambda X, w, b: reference.ThresholdUnit(w, b).predict(X),
    "gate_weights": lambda gate: (GATES[gate].weights, GATES[gate].bias),
    "line_accuracies": _line_accuracies,
    "perceptron_update": reference.perceptron_update,
    "train_perceptron": _train_perceptron,
    "predict_proba": lambda X, w, b: _unit(w, b).predict_proba(X),
    "logistic_loss": lambda X, y, w, b: _unit(w, b).loss_gradient(X, y)[0],
    "logistic_gradient": lambda X, y, w, b: _unit(w, b).loss_gradient(X, y)[1:],
    "train_logistic": _train_logistic,
}


def _finite_differences(X, y, w, b):
    """Centered differences of the reference mean cross-entropy in (w, b)."""
    numeric = numerical_gradient(lambda p: _unit(p[:-1], p[-1]).loss_gradient(X, y)[0], np.append(w, b))
    return numeric[:-1], numeric[-1]


# --- the parts -----------------------------------------------------------------------------------

def _threshold_unit(rng):
    calls = []
    for shape in [(1, 1), (1, 3), (6, 2), (9, 4), (3, 7)]:
        X, w, b = rng.standard_normal(shape), rng.standard_normal(shape[1]), float(rng.standard_normal())
        calls.append(probe(threshold_outputs, REFERENCE, X, w, b=b, outputs=("outputs",), needs=("threshold_unit",),
                           unchanged=True, name=f"threshold_unit(X, w, b) for X of shape {shape}",
                           hint="compute z = X @ w + b (one sum per row) and fire where z >= 0"))
    # Half-integers: z is exact, and 0 on some rows.
    X, w = rng.integers(-2, 3, size=(8, 3)) / 2, rng.integers(-2, 3, size=3).astype(float)
    calls.append(probe(threshold_outputs, REFERENCE, X, w, b=-float(X[0] @ w), outputs=("outputs",),
                       needs=("threshold_unit",), unchanged=True,
                       name="threshold_unit where z is exactly 0 on some rows",
                       hint="the unit fires when z >= 0: use >=, not >"))
    return calls


def _gate_weights():
    return [probe(gate_truth_table, REFERENCE, inputs, gate=gate, outputs=("truth table",), needs=("gate_weights",),
                  name=f"a threshold unit with the weights gate_weights('{gate}'), on the inputs "
                  f"{inputs.astype(int).tolist()}",
                  hint="the unit fires where w . x + b >= 0: the bias sets how many inputs must be on")
            for gate, inputs in GATE_INPUTS.items()]


def _line_accuracies_calls(rng):
    calls = []
    for n, d, k in [(1, 2, 1), (4, 2, 3), (7, 3, 5), (5, 4, 2), (6, 3, 3)]:
        X, y = rng.standard_normal((n, d)), rng.integers(0, 2, size=n)
        W, b = rng.standard_normal((k, d)), rng.standard_normal(k)
        calls.append(probe(accuracies, REFERENCE, X, y, W, b, outputs=("accuracies",), needs=("line_accuracies",),
                           name=f"line_accuracies for X {X.shape}, W {W.shape}",
                           hint="row k of W holds unit k's weights: the (N, K) sums are X @ W.T + b"))
    X, y = data.xor()
    W, b = rng.integers(-2, 3, size=(40, 2)).astype(float), rng.integers(-2, 3, size=40).astype(float)
    calls.append(probe(accuracies, REFERENCE, X, y, W, b, outputs=("accuracies",), needs=("line_accuracies",),
                       name="line_accuracies with integer weights on XOR (some sums are exactly 0)",
                       hint="a unit fires when its sum is >= 0, including 0"))
    W, b = rng.standard_normal((3000, 2)), rng.standard_normal(3000)
    calls.append(probe(accuracies, REFERENCE, X, y, W, b, best=True, outputs=("best accuracy",),
                       needs=("line_accuracies",), name="the best accuracy of 3000 random lines on XOR"))
    return calls


def _perceptron_update(rng):
    cases = [(rng.standard_normal(d), float(rng.standard_normal()), rng.standard_normal(d), int(rng.integers(0, 2)), lr)
             for d in [3, 5, 1] for lr in [1.0, 0.3] for _ in range(4)]
    for d in (2, 4):  # half-integers with z = x . w + b = 0 exactly: predicts 1
        w, x = rng.integers(-2, 3, size=d) / 2, rng.integers(-2, 3, size=d) / 2
        cases += [(w, -float(x @ w), x, y, float(rng.uniform(0.2, 2.0))) for y in (0, 1)]
    return [probe(perceptron_step, REFERENCE, w, x, b=b, y=y, lr=lr, outputs=("new w", "new b", "mistake"),
                  needs=("perceptron_update",), unchanged=True,
                  name=f"perceptron_update (D = {len(w)}, y = {y}, lr = {lr:.3g}, z = {x @ w + b:.3g})",
                  hint="w + lr (y - yhat) x and b + lr (y - yhat), with yhat = 1 when z = x . w + b >= 0, "
                  "as a new array (w += ... changes the caller's w); a mistake is yhat != y")
            for w, b, x, y, lr in cases]


def _train_perceptron_calls(rng):
    def seed():
        return int(rng.integers(0, 2**31))

    X, y = data.blobs(60, centers=[[1, 3], [3, 1]], std=0.6, seed=seed())
    X3, y3 = data.blobs(9, centers=[[0, 0, 2], [2, 1, 0]], std=0.3, seed=seed())
    cases = [(X, y, 1.0, 200), (X, y, 0.1, 200), (X3, y3, 0.5, 50),
             (rng.standard_normal((1, 3)), rng.integers(0, 2, size=1), 1.0, 10),  # one example, D = 3
             (*data.xor(), 1.0, 7)]  # not separable: all 7 epochs
    calls = []
    for X, y, lr, max_epochs in cases:
        s = seed()
        calls.append(probe(perceptron_training, REFERENCE, X, y, lr=lr, max_epochs=max_epochs, seed=s,
                           outputs=("mistakes per epoch", "final w", "final b"), needs=("train_perceptron",),
                           unchanged=True, name=f"train_perceptron (N = {len(X)}, D = {X.shape[1]}, lr = {lr}, "
                           f"max_epochs = {max_epochs}, seed = {s})",
                           hint="start from w = 0, b = 0; one rng = np.random.default_rng(seed) before the first "
                           "epoch, then rng.permutation(N) at the start of each; one count per epoch run; stop "
                           "after the first epoch without a mistake or after max_epochs"))
    return calls


def _logistic_loss(rng):
    calls = []
    for shape, scale in [((1, 1), 1.0), ((8, 3), 1.0), ((5, 6), 2.0), ((12, 2), 4.0), ((6, 4), 400.0)]:
        X, y = rng.standard_normal(shape) * scale, rng.integers(0, 2, size=shape[0])
        w, b = rng.standard_normal(shape[1]), float(rng.standard_normal())
        case = f"for X of shape {shape}, |z| up to {np.max(np.abs(X @ w + b)):.3g}"
        calls += [
            probe(probabilities, REFERENCE, X, w, b=b, outputs=("probabilities",), needs=("predict_proba",),
                  name=f"predict_proba {case}", hint="sigma(X @ w + b), one probability per row"),
            probe(mean_cross_entropy, REFERENCE, X, y, w, b=b, outputs=("loss",), needs=("logistic_loss",),
                  name=f"logistic_loss {case}",
                  hint="the mean (not the sum) over the N examples of log(1 + e^z) - y z, with log(1 + e^z) "
                  "computed without overflow")]
    z = np.array([800.0, -800.0, 30.0, -1000.0]) * rng.choice([-1.0, 1.0])
    calls.append(probe(mean_cross_entropy, REFERENCE, z[:, None], rng.permutation([0, 1, 1, 0]), np.ones(1), b=0.0,
                       outputs=("loss",), needs=("logistic_loss",),
                       name=f"logistic_loss for z = {', '.join(f'{v:g}' for v in z)}",
                       hint="sigma(800) rounds to 1 and log(1 - 1) = -inf: use log(1 + e^z) - y z with np.logaddexp "
                       "or log1p"))
    return calls


def _logistic_gradient(rng):
    calls = []
    for shape, scale in [((1, 1), 1.0), ((1, 4), 1.0), ((7, 3), 1.0), ((4, 6), 1.5), ((9, 2), 3.0), ((5, 3), 300.0)]:
        X, y = rng.standard_normal(shape) * scale, rng.integers(0, 2, size=shape[0])
        w, b = rng.standard_normal(shape[1]), float(rng.standard_normal())
        huge = scale > 10  # no finite differences there, as in the hidden tests
        calls.append(probe(logistic_gradients, REFERENCE, X, y, w, b=b, outputs=("dw", "db"),
                           needs=("logistic_gradient",), unchanged=True,
                           numerical=None if huge else _finite_differences,
                           name=f"logistic_gradient for X of shape {shape}" + (", huge logits" if huge else ""),
                           hint="(1/N) X.T @ (yhat - y) and (1/N) sum of (yhat - y): mind the transpose, the 1/N "
                           "and the sign"))
    return calls


def _train_logistic_calls(rng):
    def seed():
        return int(rng.integers(0, 2**31))

    X, y = data.blobs(80, centers=[[1, 3], [3, 1]], std=1.0, seed=seed())
    X3, y3 = data.blobs(15, centers=[[0, 1, 0], [1, 0, 2]], std=0.8, seed=seed())
    cases = [(X, y, 0.5, 30), (X3, y3, 0.1, 12), (rng.standard_normal((1, 2)), rng.integers(0, 2, size=1), 1.0, 5),
             (X3, y3, 0.3, 0)]
    return [probe(logistic_training, REFERENCE, X, y, lr=lr, n_steps=n_steps,
                  outputs=("the losses", "final w", "final b"), needs=("train_logistic",),
                  name=f"train_logistic (N = {len(X)}, D = {X.shape[1]}, lr = {lr}, n_steps = {n_steps})",
                  hint="start from w = 0, b = 0 and step against the gradient (w - lr * dw, b - lr * db); "
                  "n_steps + 1 losses: before the first step, then after each")
            for X, y, lr, n_steps in cases]


def parts(rng):
    return {
        "test_threshold_unit": _threshold_unit(rng),
        "test_gate_weights": _gate_weights(),
        "test_line_accuracies": _line_accuracies_calls(rng),
        "test_perceptron_update": _perceptron_update(rng),
        "test_train_perceptron": _train_perceptron_calls(rng),
        "test_logistic_loss": _logistic_loss(rng),
        "test_logistic_gradient": _logistic_gradient(rng),
        "test_train_logistic": _train_logistic_calls(rng),
    }
