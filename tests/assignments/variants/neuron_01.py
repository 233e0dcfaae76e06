"""Assignment 01-neuron: realistic mistakes and correct alternatives."""

BUGGY = {
    # The sum z = 0 is where the unit fires; ">" misses it on the corners of the square.
    "threshold unit fires only when z > 0": ({"threshold_unit": '''
def threshold_unit(X, w, b):
    return (X @ w + b > 0).astype(int)
'''}, {"test_threshold_unit"}),
    # "and" given or's bias: one input on is already enough.
    "and gate with too small a threshold": ({"gate_weights": '''
def gate_weights(gate):
    if gate == "and":
        return np.array([1.0, 1.0]), -0.5
    if gate == "or":
        return np.array([1.0, 1.0]), -0.5
    if gate == "nand":
        return np.array([-1.0, -1.0]), 1.5
    return np.array([-1.0]), 0.5
'''}, {"test_gate_weights"}),
    # W reshaped to (D, K) instead of transposed: the right shape, the wrong numbers.
    "line search reshapes instead of transposing": ({"line_accuracies": '''
def line_accuracies(X, y, W, b):
    fires = X @ W.reshape(X.shape[1], -1) + b >= 0
    return np.mean(fires == np.asarray(y)[:, None], axis=0)
'''}, {"test_line_accuracies"}),
    "perceptron rule with the wrong sign": ({"perceptron_update": '''
def perceptron_update(w, b, x, y, lr=1.0):
    y_hat = 1 if x @ w + b >= 0 else 0
    return w - lr * (y - y_hat) * x, b - lr * (y - y_hat), y_hat != y
'''}, {"test_perceptron_update"}),
    # Correct values, but the caller's weights change too.
    "perceptron rule updates w in place": ({"perceptron_update": '''
def perceptron_update(w, b, x, y, lr=1.0):
    error = y - (1 if x @ w + b >= 0 else 0)
    w += lr * error * x
    return w, b + lr * error, error != 0
'''}, {"test_perceptron_update"}),
    "training never stops early": ({"train_perceptron": '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, seed=0):
    rng = np.random.default_rng(seed)
    w, b = np.zeros(X.shape[1]), 0.0
    errors_per_epoch = []
    for epoch in range(max_epochs):
        mistakes = 0
        for i in rng.permutation(len(X)):
            w, b, mistake = perceptron_update(w, b, X[i], y[i], lr)
            mistakes += mistake
        errors_per_epoch.append(mistakes)
    return w, b, errors_per_epoch
'''}, {"test_train_perceptron"}),
    # The same order in every epoch: a new generator with the same seed each time.
    "training reseeds the generator every epoch": ({"train_perceptron": '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, seed=0):
    w, b = np.zeros(X.shape[1]), 0.0
    errors_per_epoch = []
    for epoch in range(max_epochs):
        order = np.random.default_rng(seed).permutation(len(X))
        mistakes = 0
        for i in order:
            w, b, mistake = perceptron_update(w, b, X[i], y[i], lr)
            mistakes += mistake
        errors_per_epoch.append(mistakes)
        if mistakes == 0:
            break
    return w, b, errors_per_epoch
'''}, {"test_train_perceptron"}),
    "training delegates to course_lib's Perceptron": ({"train_perceptron": '''
from course_lib.neuron import Perceptron as _Perceptron

def train_perceptron(X, y, lr=1.0, max_epochs=100, seed=0):
    fitted = _Perceptron(lr=lr, max_epochs=max_epochs, seed=seed).fit(X, y)
    return fitted.coef_, fitted.intercept_, fitted.errors_per_epoch_
'''}, {"test_train_perceptron"}),
    # Right for moderate logits; log(0) with a warning once sigma(z) rounds to 0 or 1.
    "cross-entropy from the probabilities": ({"logistic_loss": '''
def predict_proba(X, w, b):
    return sigmoid(X @ w + b)


def logistic_loss(X, y, w, b):
    p = predict_proba(X, w, b)
    return np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))
'''}, {"test_logistic_loss"}),
    "gradient forgets the 1/N": ({"logistic_gradient": '''
def logistic_gradient(X, y, w, b):
    error = predict_proba(X, w, b) - y
    return X.T @ error, np.sum(error)
'''}, {"test_logistic_gradient"}),
    # Loss and gradient both summed: they agree with each other (finite differences of the
    # student's own loss pass) and both disagree with the mean cross-entropy.
    "summed loss with its summed gradient": ({"logistic_loss": '''
def predict_proba(X, w, b):
    return sigmoid(X @ w + b)


def logistic_loss(X, y, w, b):
    z = X @ w + b
    return np.sum(np.logaddexp(0, z) - y * z)
''', "logistic_gradient": '''
def logistic_gradient(X, y, w, b):
    error = predict_proba(X, w, b) - y
    return X.T @ error, np.sum(error)
'''}, {"test_logistic_loss", "test_logistic_gradient"}),
    "gradient descent goes uphill": ({"train_logistic": '''
def train_logistic(X, y, lr=0.1, n_steps=100):
    w, b = np.zeros(X.shape[1]), 0.0
    history = [logistic_loss(X, y, w, b)]
    for step in range(n_steps):
        dw, db = logistic_gradient(X, y, w, b)
        w, b = w + lr * dw, b + lr * db
        history.append(logistic_loss(X, y, w, b))
    return w, b, history
'''}, {"test_train_logistic"}),
    "losses miss the one before training": ({"train_logistic": '''
def train_logistic(X, y, lr=0.1, n_steps=100):
    w, b = np.zeros(X.shape[1]), 0.0
    history = []
    for step in range(n_steps):
        dw, db = logistic_gradient(X, y, w, b)
        w, b = w - lr * dw, b - lr * db
        history.append(logistic_loss(X, y, w, b))
    return w, b, history
'''}, {"test_train_logistic"}),
    # Tampering: the grader's checks rebound to pass everything (hidden tests reload them).
    "a loss that switches the checks off": ({"logistic_loss": '''
import course_lib.testing as _testing
_testing.check_close = lambda *args, **kwargs: None
_testing.attempt = lambda *args, **kwargs: None


def predict_proba(X, w, b):
    return sigmoid(X @ w + b)


def logistic_loss(X, y, w, b):
    return 0.0
'''}, {"test_logistic_loss"}),
}

CORRECT = {
    "loops over examples and units": {
        "threshold_unit": '''
def threshold_unit(X, w, b):
    out = np.zeros(len(X), dtype=int)
    for i, x in enumerate(X):
        z = b
        for x_j, w_j in zip(x, w):
            z += x_j * w_j
        out[i] = 1 if z >= 0 else 0
    return out
''',
        "line_accuracies": '''
def line_accuracies(X, y, W, b):
    acc = []
    for w_k, b_k in zip(W, b):
        acc.append(np.mean(threshold_unit(X, w_k, b_k) == y))
    return np.array(acc)
''',
        "train_perceptron": '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, seed=0):
    rng = np.random.default_rng(seed)
    w = np.zeros(X.shape[1])
    b = 0.0
    errors_per_epoch = []
    epoch = 0
    while epoch < max_epochs:
        order = rng.permutation(np.arange(len(X)))
        count = 0
        for i in order:
            predicted = threshold_unit(X[i:i + 1], w, b)[0]
            if predicted != y[i]:
                w = w + lr * (y[i] - predicted) * X[i]
                b = b + lr * (y[i] - predicted)
                count += 1
        errors_per_epoch.append(count)
        epoch += 1
        if count == 0:
            break
    return w, b, errors_per_epoch
''',
        "logistic_gradient": '''
def logistic_gradient(X, y, w, b):
    n, d = X.shape
    dw, db = np.zeros(d), 0.0
    for i in range(n):
        p = sigmoid(X[i] @ w + b)
        dw += (p - y[i]) * X[i] / n
        db += (p - y[i]) / n
    return dw, db
''',
    },
    "other formulas and other weights": {
        "threshold_unit": '''
def threshold_unit(X, w, b):
    return np.dot(X, w) >= -b
''',
        "gate_weights": '''
def gate_weights(gate):
    if gate == "and":
        return np.array([2.0, 2.0]), -3.0
    if gate == "or":
        return np.array([1.0, 1.0]), -1.0
    if gate == "nand":
        return np.array([-1.0, -1.0]), 1.9
    if gate == "not":
        return np.array([-3.0]), 1.0
    raise ValueError(f"unknown gate {gate!r}")
''',
        "line_accuracies": '''
def line_accuracies(X, y, W, b):
    right = (np.einsum("nd,kd->nk", X, W) + b[None, :] >= 0) == (np.asarray(y)[:, None] == 1)
    return right.sum(axis=0) / len(X)
''',
        "logistic_loss": '''
def predict_proba(X, w, b):
    return 0.5 * (1 + np.tanh(0.5 * (X @ w + b)))


def logistic_loss(X, y, w, b):
    z = X @ w + b
    # -log sigma(z) = log(1 + e^{-z}) and -log(1 - sigma(z)) = log(1 + e^{z})
    return np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))
''',
        "logistic_gradient": '''
def logistic_gradient(X, y, w, b):
    n = X.shape[0]
    delta = (sigmoid(X @ w + b) - y) / n
    return delta @ X, delta.sum()
''',
        "train_logistic": '''
def train_logistic(X, y, lr=0.1, n_steps=100):
    w, b = np.zeros(X.shape[1]), 0.0
    history = np.empty(n_steps + 1)
    history[0] = logistic_loss(X, y, w, b)
    for t in range(1, n_steps + 1):
        dw, db = logistic_gradient(X, y, w, b)
        w -= lr * dw
        b -= lr * db
        history[t] = logistic_loss(X, y, w, b)
    return w, b, history
''',
    },
    "its own update, which returns w itself when right": {
        "perceptron_update": '''
def perceptron_update(w, b, x, y, lr=1.0):
    predicted = int(np.dot(w, x) + b >= 0)
    if predicted == y:
        return w, b, False
    step = lr if y == 1 else -lr
    return w + step * x, b + step, True
''',
        "train_perceptron": '''
def train_perceptron(X, y, lr=1.0, max_epochs=100, seed=0):
    rng = np.random.default_rng(seed)
    w, b, history = np.zeros(X.shape[1]), 0.0, []
    for _ in range(max_epochs):
        history.append(0)
        for i in rng.permutation(X.shape[0]):
            w, b, wrong = perceptron_update(w, b, X[i], y[i], lr)
            history[-1] += int(wrong)
        if not history[-1]:
            break
    return w, b, np.array(history)
''',
    },
}
