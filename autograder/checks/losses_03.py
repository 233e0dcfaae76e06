"""Verification of 03-losses: the behaviours the hidden tests check, on fresh inputs.

Each loss is called as the hidden tests call it (integer labels, and float ones for the binary
loss; the margin by keyword) on random inputs of their shapes (a batch of 1, two classes, more
columns than rows) and scales, and on the edge cases they use (logits and scores of +-1000,
equal scores); the loss and its gradient are compared with course_lib.losses, the gradient also
with centered differences of the reference loss, and the scores or predictions must not change.
sgd_epoch runs one epoch for each of the hidden tests' batch sizes (dividing N or not, 1, N,
larger than N) with the three losses, and two epochs sharing one Generator, against a
course_lib.nn.Linear stepped by course_lib.optim.SGD; its four arguments must not change. The
losses sgd_epoch is given are the probe's own copies of the references (the child cannot
import them). No part may emit a warning.
"""
import numpy as np

from course_lib import data, losses as reference, nn, optim
from course_lib.gradcheck import numerical_gradient

from ..verify import probe

SETUP = ("setup",)
REFERENCES = ("course_lib.losses", "course_lib.optim")


# --- the probes: run in the child with the notebook's namespace `ns` (and here with the reference's)

def loss_and_gradient(ns, z, y, loss, labels, loss_only=False, **settings):
    """ns[loss](z, y, **settings) with y as "int" labels, "float" labels (a copy: the hidden
    tests check only z for changes) or a "target" (which must not change either)."""
    y = y.astype(int) if labels == "int" else y.copy() if labels == "float" else y
    value, gradient = ns[loss](z, y, **settings)
    return value if loss_only else (value, gradient)


def sgd_run(ns, W, b, X, y, loss, lr, batch_size, seed, epochs=1, shared_generator=False):
    """sgd_epoch for `epochs` epochs with the named loss (the reference's, written out here),
    the seed an int or, with shared_generator, one Generator made from it for every epoch."""
    def softmax_cross_entropy(logits, y):
        n, rows = len(logits), np.arange(len(logits))
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        grad = exp / sum_exp
        grad[rows, y] -= 1.0
        return float(np.mean(np.log(sum_exp[:, 0]) - shifted[rows, y])), grad / n

    def mean_squared_error(pred, target):
        diff = pred - target
        return float(np.mean(diff * diff)), (2.0 / diff.size) * diff

    def multiclass_hinge(scores, y, margin=1.0):
        n, rows = len(scores), np.arange(len(scores))
        margins = np.maximum(scores - scores[rows, y][:, None] + margin, 0.0)
        margins[rows, y] = 0.0
        grad = (margins > 0).astype(float)
        grad[rows, y] = -grad.sum(axis=1)
        return float(margins.sum() / n), grad / n

    function = {"softmax_cross_entropy": softmax_cross_entropy, "mean_squared_error": mean_squared_error,
                "multiclass_hinge": multiclass_hinge}[loss]
    labels = y if loss == "mean_squared_error" else y.astype(int)
    order = np.random.default_rng(seed) if shared_generator else seed
    for _ in range(epochs):
        W, b, batch_losses = ns["sgd_epoch"](W, b, X, labels, function, lr, batch_size, order)
    y[...] = labels  # a change to the labels shows as a change to y
    return W, b, batch_losses


# --- the references ------------------------------------------------------------------------------

def _reference_epoch(W, b, X, y, loss, lr, batch_size, seed):
    """An epoch of course_lib's Linear layer stepped by its SGD, as in the hidden tests."""
    layer = nn.Linear(*W.shape)
    layer.W.value[...], layer.b.value[...] = W, b
    optimizer = optim.SGD(layer.parameters(), lr=lr)
    values = []
    for xb, yb in data.iterate_minibatches(X, y, batch_size, seed=seed):
        value, dscores = loss(layer(xb), yb)
        layer.backward(dscores, input_grad=False)
        optimizer.step()
        values.append(value)
    return layer.W.value, layer.b.value, np.array(values)


REFERENCE = {**reference.LOSSES, "sgd_epoch": _reference_epoch}


def _finite_differences(z, y, loss, labels, loss_only=False, **settings):
    """No numerical loss; centered differences of the reference loss for the gradient."""
    y = y.astype(int) if labels == "int" else y
    return None, numerical_gradient(lambda v: reference.LOSSES[loss](v, y, **settings)[0], z)


def _loss(function, z, y, *, name, hint, labels="int", gradient=True, edge=False, **settings):
    """The loss (and by default its gradient) of z; except on an edge case (where the hidden
    tests compare values only), the gradient also against finite differences of the reference
    loss, and z must not change."""
    return probe(loss_and_gradient, REFERENCE, z, y, loss=function, labels=labels, loss_only=not gradient,
                 outputs=("loss", "gradient") if gradient else ("loss",), needs=(function,), unchanged=not edge,
                 numerical=None if edge else _finite_differences, name=name, hint=hint, **settings)


# --- the parts -----------------------------------------------------------------------------------

def _rows_shuffled(rng, z, y):
    """A hidden test's edge case, its rows (with their labels) in a fresh order."""
    order = rng.permutation(len(z))
    return np.asarray(z, dtype=float)[order], np.asarray(y)[order]


def _softmax_cross_entropy(rng):
    calls = []
    for n, c in [(4, 3), (1, 5), (7, 2), (3, 10), (1, 2)]:
        calls.append(_loss("softmax_cross_entropy", rng.standard_normal((n, c)) * 3, rng.integers(0, c, size=n),
                           name=f"softmax_cross_entropy for logits of shape {(n, c)}",
                           hint="the loss is the mean over the rows of log-sum-exp(z_i) - z_i[y_i]; row i of "
                           "dlogits is (softmax(z_i) - onehot(y_i)) / N; shifting with -= changes the caller's "
                           "logits: compute a new array"))
    big = _rows_shuffled(rng, [[1000.0, 0.0, -1000.0], [1000.0, 1000.0, -5.0]], [2, 0])
    calls.append(_loss("softmax_cross_entropy", *big, edge=True, name="softmax_cross_entropy for logits of +-1000",
                       hint="never take the log of a probability (e^-2000 underflows to 0): with m the row's "
                       "largest logit, log p_y = z_y - m - log(sum_j e^(z_j - m)), where every exponent is <= 0"))
    calls.append(_loss("softmax_cross_entropy", np.zeros((5, 4)), rng.integers(0, 4, size=5), gradient=False,
                       edge=True, name="softmax_cross_entropy of equal scores over 4 classes",
                       hint="equal scores give p = 1/C for every class, a loss of log C"))
    return calls


def _binary_cross_entropy(rng):
    calls = []
    for n in [1, 5, 8, 2]:
        z, y = rng.standard_normal(n) * 4, rng.integers(0, 2, size=n)
        for labels in ("int", "float"):
            calls.append(_loss("binary_cross_entropy_with_logits", z, y, labels=labels,
                               name=f"binary_cross_entropy_with_logits for N = {n}, {labels} labels",
                               hint="the loss is log(1 + e^z) - y z averaged over the batch; dlogits is "
                               "(sigmoid(z) - y) / N"))
    big = _rows_shuffled(rng, [1000.0, -1000.0, 1000.0, -1000.0, 40.0, -40.0], [1, 0, 0, 1, 1, 0])
    calls.append(_loss("binary_cross_entropy_with_logits", *big, edge=True,
                       name="binary_cross_entropy_with_logits for logits of +-1000",
                       hint="max(z, 0) + log1p(exp(-|z|)) - y z never overflows and never takes log(0)"))
    return calls


def _mean_squared_error(rng):
    return [_loss("mean_squared_error", rng.standard_normal(shape) * 2, rng.standard_normal(shape), labels="target",
                  name=f"mean_squared_error for predictions of shape {shape}",
                  hint="the loss is the mean over all N * D entries, not only over the N rows; dpred is "
                  "2 (pred - target) / (N * D); pred and target must not change")
            for shape in [(6,), (1,), (4, 3), (1, 3), (5, 1)]]


def _hinge_problem(rng, n, c, margin):
    """Scores and labels drawn as the hidden tests draw them, again in the rare case of a margin
    within 1e-3 of the hinge's kink, where finite differences do not apply."""
    while True:
        scores, y = rng.standard_normal((n, c)) * 1.5, rng.integers(0, c, size=n)
        margins = scores - scores[np.arange(n), y][:, None] + margin
        margins[np.arange(n), y] = 1.0
        if np.all(np.abs(margins) > 1e-3):
            return scores, y


def _multiclass_hinge(rng):
    calls = []
    for (n, c), margin in [((4, 3), 1.0), ((1, 5), 1.0), ((6, 2), 0.5), ((3, 10), 2.0), ((1, 2), 1.0)]:
        calls.append(_loss("multiclass_hinge", *_hinge_problem(rng, n, c, margin), margin=margin,
                           name=f"multiclass_hinge for scores of shape {(n, c)}, margin {margin}",
                           hint="the loss is the sum over j != y of max(0, z_j - z_y + margin), averaged over the "
                           "rows; dscores is +1 per violating class, minus their count on the correct class, "
                           "all / N"))
    calls.append(_loss("multiclass_hinge", np.zeros((3, 4)), rng.integers(0, 4, size=3), edge=True,
                       name="multiclass_hinge of equal scores over 4 classes",
                       hint="each of the C - 1 other classes violates by exactly the margin; the class y is left "
                       "out"))
    big = _rows_shuffled(rng, [[1000.0, -1000.0, 999.5], [-1000.0, 1000.0, 0.0]], [0, 0])
    calls.append(_loss("multiclass_hinge", *big, gradient=False, edge=True,
                       name="multiclass_hinge for scores of +-1000",
                       hint="sum over j != y of max(0, z_j - z_y + margin), averaged over the rows"))
    return calls


def _problem(rng, loss, n, d, k):
    X, W, b = rng.standard_normal((n, d)), 0.5 * rng.standard_normal((d, k)), 0.1 * rng.standard_normal(k)
    y = rng.standard_normal((n, k)) if loss == "mean_squared_error" else rng.integers(0, k, size=n)
    return W, b, X, y


def _sgd_epoch(rng):
    order_hint = ("batches are consecutive slices of np.random.default_rng(seed).permutation(N), the last one "
                  "shorter; the step is lr * X_B.T @ G, and G is already divided by B; one loss per batch, "
                  "computed with W and b before that batch's step; W -= ... updates the caller's array: start "
                  "from a copy")
    calls = []
    for loss, n, d, k, batch_size, lr in [
            ("softmax_cross_entropy", 13, 3, 4, 4, 0.5),  # batches of 4, 4, 4 and 1
            ("softmax_cross_entropy", 13, 3, 4, 1, 0.1),
            ("softmax_cross_entropy", 13, 3, 4, 13, 1.0),  # one batch: a step of gradient descent
            ("softmax_cross_entropy", 5, 2, 3, 8, 1.0),    # a batch larger than the data
            ("mean_squared_error", 10, 1, 1, 3, 0.1),
            ("multiclass_hinge", 9, 5, 2, 2, 0.3)]:
        hint = ("with one batch there is no shuffle to get wrong: check the step, lr * X.T @ G and "
                "lr * G.sum(axis=0)") if batch_size >= n else order_hint
        calls.append(probe(sgd_run, REFERENCE, *_problem(rng, loss, n, d, k), loss=loss, lr=lr, batch_size=batch_size,
                           seed=int(rng.integers(0, 2**31)), outputs=("W", "b", "the batch losses"),
                           needs=("sgd_epoch",), unchanged=True, hint=hint,
                           name=f"sgd_epoch with {loss}, N = {n}, batch_size = {batch_size}"))
    calls.append(probe(sgd_run, REFERENCE, *_problem(rng, "softmax_cross_entropy", 11, 2, 3),
                       loss="softmax_cross_entropy", lr=0.5, batch_size=3, seed=int(rng.integers(0, 2**31)), epochs=2,
                       shared_generator=True, outputs=("W", "b", "the batch losses"), needs=("sgd_epoch",),
                       name="two epochs of sgd_epoch sharing one Generator",
                       hint="pass the Generator to np.random.default_rng (or use it directly) so each epoch draws "
                       "a new order"))
    return calls


def parts(rng):
    return {
        "test_softmax_cross_entropy": _softmax_cross_entropy(rng),
        "test_binary_cross_entropy_with_logits": _binary_cross_entropy(rng),
        "test_mean_squared_error": _mean_squared_error(rng),
        "test_multiclass_hinge": _multiclass_hinge(rng),
        "test_sgd_epoch": _sgd_epoch(rng),
    }
