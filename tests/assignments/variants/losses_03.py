"""Assignment 03-losses: realistic mistakes and correct alternatives.

Every mistake below is one student's bug in one function. To keep the grading run short, each
graded submission combines mistakes in different functions (``variants.combine``): it must lose
exactly the parts of its mistakes, which also proves that a bug in one part costs no other.
"""

from . import combine

CE = "test_softmax_cross_entropy"
BCE = "test_binary_cross_entropy_with_logits"
MSE = "test_mean_squared_error"
HINGE = "test_multiclass_hinge"
SGD = "test_sgd_epoch"

_MISTAKES = {
    # Probabilities first, log afterwards: right for moderate logits, inf/nan with a warning
    # at +-1000.
    "cross-entropy without the max shift": ({"softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    p[np.arange(n), y] -= 1
    return loss, p / n
'''}, {CE}),
    "cross-entropy summed over the batch": ({"softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    p = np.exp(shifted - lse[:, None])
    p[np.arange(n), y] -= 1
    return np.sum(lse - shifted[np.arange(n), y]), p
'''}, {CE}),
    "cross-entropy gradient without 1/N": ({"softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    p = np.exp(shifted - lse[:, None])
    p[np.arange(n), y] -= 1
    return np.mean(lse - shifted[np.arange(n), y]), p
'''}, {CE}),
    # Right loss and gradient, but the caller's logits are shifted in place.
    "cross-entropy shifts the logits in place": ({"softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    logits -= logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(logits).sum(axis=1))
    p = np.exp(logits - lse[:, None])
    p[np.arange(n), y] -= 1
    return np.mean(lse - logits[np.arange(n), y]), p / n
'''}, {CE}),
    # Loss and gradient agree with each other (a finite-difference check of the student's own
    # loss passes), but the sign of z_y is wrong in both.
    "cross-entropy: a consistent but wrong pair": ({"softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1))
    p = np.exp(shifted - lse[:, None])
    p[np.arange(n), y] += 1
    return np.mean(lse + shifted[np.arange(n), y]), p / n
'''}, {CE}),
    "cross-entropy calls the library": ({"softmax_cross_entropy": '''
from course_lib.losses import softmax_cross_entropy as _library

def softmax_cross_entropy(logits, y):
    return _library(logits, y)
'''}, {CE}),
    # Rebinding the library's function: the hidden tests must still compare with the real one.
    "cross-entropy rebinds the library's function": ({"softmax_cross_entropy": '''
import course_lib.losses

def softmax_cross_entropy(logits, y):
    n = logits.shape[0]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return float(np.sum(p)), p

course_lib.losses.softmax_cross_entropy = softmax_cross_entropy
'''}, {CE}),
    "binary cross-entropy from log(sigmoid)": ({"binary_cross_entropy_with_logits": '''
def binary_cross_entropy_with_logits(logits, y):
    s = sigmoid(logits)
    loss = -np.mean(y * np.log(s) + (1 - y) * np.log(1 - s))
    return loss, (s - y) / len(logits)
'''}, {BCE}),
    # The lectures' -log sigma(t z) needs t = 2y - 1; applied to y in {0, 1} it is wrong for y = 0.
    "binary cross-entropy uses the +-1 formula on 0/1 labels": ({"binary_cross_entropy_with_logits": '''
def binary_cross_entropy_with_logits(logits, y):
    m = -y * logits
    loss = np.mean(np.maximum(m, 0) + np.log1p(np.exp(-np.abs(m))))
    return loss, -y * sigmoid(m) / len(logits)
'''}, {BCE}),
    "binary cross-entropy gradient with the wrong sign": ({"binary_cross_entropy_with_logits": '''
def binary_cross_entropy_with_logits(logits, y):
    loss = np.mean(np.maximum(logits, 0) - y * logits + np.log1p(np.exp(-np.abs(logits))))
    return loss, (y - sigmoid(logits)) / len(logits)
'''}, {BCE}),
    # Dividing by the number of rows is only right for one output column.
    "mean squared error divides by N, not N * D": ({"mean_squared_error": '''
def mean_squared_error(pred, target):
    diff = pred - target
    n = len(diff)
    return np.sum(diff ** 2) / n, 2 * diff / n
'''}, {MSE}),
    "mean squared error gradient without the 2": ({"mean_squared_error": '''
def mean_squared_error(pred, target):
    diff = pred - target
    return np.mean(diff ** 2), diff / diff.size
'''}, {MSE}),
    "hinge counts the correct class too": ({"multiclass_hinge": '''
def multiclass_hinge(scores, y, margin=1.0):
    n = scores.shape[0]
    m = np.maximum(0, scores - scores[np.arange(n), y][:, None] + margin)
    d = (m > 0).astype(float)
    d[np.arange(n), y] -= d.sum(axis=1)
    return m.sum() / n, d / n
'''}, {HINGE}),
    "hinge ignores its margin argument": ({"multiclass_hinge": '''
def multiclass_hinge(scores, y, margin=1.0):
    n = scores.shape[0]
    m = np.maximum(0, scores - scores[np.arange(n), y][:, None] + 1.0)
    m[np.arange(n), y] = 0
    d = (m > 0).astype(float)
    d[np.arange(n), y] = -d.sum(axis=1)
    return m.sum() / n, d / n
'''}, {HINGE}),
    "hinge gradient forgets the correct class": ({"multiclass_hinge": '''
def multiclass_hinge(scores, y, margin=1.0):
    n = scores.shape[0]
    m = np.maximum(0, scores - scores[np.arange(n), y][:, None] + margin)
    m[np.arange(n), y] = 0
    return m.sum() / n, (m > 0).astype(float) / n
'''}, {HINGE}),
    "sgd divides the already averaged gradient by B again": ({"sgd_epoch": '''
def sgd_epoch(W, b, X, y, loss, lr, batch_size, seed=0):
    W, b, values = W.copy(), b.copy(), []
    for xb, yb in data.iterate_minibatches(X, y, batch_size, seed=seed):
        value, g = loss(xb @ W + b, yb)
        values.append(value)
        W -= lr * xb.T @ g / len(xb)
        b -= lr * g.mean(axis=0)
    return W, b, np.array(values)
'''}, {SGD}),
    "sgd never shuffles": ({"sgd_epoch": '''
def sgd_epoch(W, b, X, y, loss, lr, batch_size, seed=0):
    W, b, values = W.copy(), b.copy(), []
    for xb, yb in data.iterate_minibatches(X, y, batch_size, shuffle=False):
        value, g = loss(xb @ W + b, yb)
        values.append(value)
        W -= lr * xb.T @ g
        b -= lr * g.sum(axis=0)
    return W, b, np.array(values)
'''}, {SGD}),
    # range stops before the leftover examples when B does not divide N.
    "sgd drops the last, incomplete batch": ({"sgd_epoch": '''
def sgd_epoch(W, b, X, y, loss, lr, batch_size, seed=0):
    W, b, values = W.copy(), b.copy(), []
    order = np.random.default_rng(seed).permutation(len(X))
    for start in range(0, len(X) - batch_size + 1, batch_size):
        rows = order[start:start + batch_size]
        value, g = loss(X[rows] @ W + b, y[rows])
        values.append(value)
        W -= lr * X[rows].T @ g
        b -= lr * g.sum(axis=0)
    return W, b, np.array(values)
'''}, {SGD}),
    "sgd updates the caller's W and b in place": ({"sgd_epoch": '''
def sgd_epoch(W, b, X, y, loss, lr, batch_size, seed=0):
    values = []
    for xb, yb in data.iterate_minibatches(X, y, batch_size, seed=seed):
        value, g = loss(xb @ W + b, yb)
        values.append(value)
        W -= lr * xb.T @ g
        b -= lr * g.sum(axis=0)
    return W, b, np.array(values)
'''}, {SGD}),
    # Every batch's gradient is taken at the starting weights: gradient descent in disguise.
    "sgd steps only at the end of the epoch": ({"sgd_epoch": '''
def sgd_epoch(W, b, X, y, loss, lr, batch_size, seed=0):
    dW, db, values = np.zeros_like(W), np.zeros_like(b), []
    for xb, yb in data.iterate_minibatches(X, y, batch_size, seed=seed):
        value, g = loss(xb @ W + b, yb)
        values.append(value)
        dW += xb.T @ g
        db += g.sum(axis=0)
    return W - lr * dW, b - lr * db, np.array(values)
'''}, {SGD}),
    "sgd through the library's optimizer": ({"sgd_epoch": '''
from course_lib import nn, optim

def sgd_epoch(W, b, X, y, loss, lr, batch_size, seed=0):
    layer = nn.Linear(*W.shape)
    layer.W.value[...], layer.b.value[...] = W, b
    step = optim.SGD(layer.parameters(), lr=lr)
    values = []
    for xb, yb in data.iterate_minibatches(X, y, batch_size, seed=seed):
        value, g = loss(layer(xb), yb)
        layer.backward(g)
        step.step()
        values.append(value)
    return layer.W.value, layer.b.value, np.array(values)
'''}, {SGD}),
}


BUGGY = combine(_MISTAKES, [
    ("cross-entropy without the max shift", "binary cross-entropy from log(sigmoid)"),
    ("cross-entropy gradient without 1/N", "mean squared error divides by N, not N * D",
     "sgd divides the already averaged gradient by B again"),
    ("cross-entropy summed over the batch", "hinge counts the correct class too",
     "sgd steps only at the end of the epoch"),
    ("cross-entropy shifts the logits in place", "sgd updates the caller's W and b in place"),
    ("cross-entropy: a consistent but wrong pair", "mean squared error gradient without the 2",
     "sgd never shuffles"),
    ("cross-entropy calls the library", "sgd through the library's optimizer"),
    ("cross-entropy rebinds the library's function",
     "binary cross-entropy gradient with the wrong sign", "hinge ignores its margin argument"),
    ("binary cross-entropy uses the +-1 formula on 0/1 labels",
     "hinge gradient forgets the correct class", "sgd drops the last, incomplete batch"),
])
assert len({n for names in BUGGY for n in names.split(" + ")}) == len(_MISTAKES), "a mistake left out"

CORRECT = {
    "loops over examples and classes": {
        "softmax_cross_entropy": '''
import math

def softmax_cross_entropy(logits, y):
    n, c = logits.shape
    total, grad = 0.0, np.zeros((n, c))
    for i in range(n):
        m = max(logits[i])
        s = sum(math.exp(v - m) for v in logits[i])
        total += m + math.log(s) - logits[i, y[i]]
        for j in range(c):
            grad[i, j] = (math.exp(logits[i, j] - m) / s - (j == y[i])) / n
    return total / n, grad
''',
        "multiclass_hinge": '''
def multiclass_hinge(scores, y, margin=1.0):
    n, c = scores.shape
    total, grad = 0.0, np.zeros((n, c))
    for i in range(n):
        for j in range(c):
            if j != y[i] and scores[i, j] - scores[i, y[i]] + margin > 0:
                total += scores[i, j] - scores[i, y[i]] + margin
                grad[i, j] += 1 / n
                grad[i, y[i]] -= 1 / n
    return total / n, grad
''',
        "sgd_epoch": '''
def sgd_epoch(W, b, X, y, loss, lr, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    order = rng.permutation(X.shape[0])
    W, b, values = W + 0.0, b + 0.0, []
    start = 0
    while start < len(order):
        rows = order[start:start + batch_size]
        value, g = loss(X[rows] @ W + b, y[rows])
        W = W - lr * (X[rows].T @ g)
        b = b - lr * g.sum(axis=0)
        values.append(value)
        start += batch_size
    return W, b, values
''',
    },
    "other stable formulas": {
        "softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    n, c = logits.shape
    onehot = np.eye(c)[y]
    log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    return -np.sum(onehot * log_p) / n, (np.exp(log_p) - onehot) / n
''',
        "binary_cross_entropy_with_logits": '''
def binary_cross_entropy_with_logits(logits, y):
    loss = np.mean(np.logaddexp(0, logits) - y * logits)
    return loss, (sigmoid(logits) - y) / logits.size
''',
        "mean_squared_error": '''
def mean_squared_error(pred, target):
    diff = np.subtract(pred, target)
    loss = np.square(diff).mean()
    diff *= 2 / diff.size
    return loss, diff
''',
        "multiclass_hinge": '''
def multiclass_hinge(scores, y, margin=1.0):
    n, c = scores.shape
    others = np.eye(c)[y] == 0
    m = np.where(others, scores - np.take_along_axis(scores, y[:, None], axis=1) + margin, 0)
    hit = (m > 0) * 1.0
    grad = hit - np.eye(c)[y] * hit.sum(axis=1, keepdims=True)
    return np.maximum(m, 0).sum() / n, grad / n
''',
    },
    "the binary loss as a two-class softmax, written with the margin t z": {
        "binary_cross_entropy_with_logits": '''
def binary_cross_entropy_with_logits(logits, y):
    t = 2 * np.asarray(y, dtype=float) - 1
    m = t * logits
    loss = np.mean(np.maximum(-m, 0) + np.log1p(np.exp(-np.abs(m))))
    return loss, -t * sigmoid(-m) / len(m)
''',
        "sgd_epoch": '''
def sgd_epoch(W, b, X, y, loss, lr, batch_size, seed=0):
    W, b = np.copy(W), np.copy(b)
    values = np.empty(0)
    for xb, yb in data.iterate_minibatches(X, y, batch_size, seed=seed):
        value, g = loss(np.dot(xb, W) + b, yb)
        values = np.append(values, value)
        np.subtract(W, lr * np.dot(xb.T, g), out=W)
        b -= lr * np.sum(g, axis=0)
    return W, b, values
''',
    },
}
