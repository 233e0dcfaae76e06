"""Assignment 02-activations: realistic mistakes and correct alternatives."""

NAIVE_SIGMOID = '''
def sigmoid(x):
    return 1 / (1 + np.exp(-x))
'''

BUGGY = {
    # The textbook formula: right values, but exp(1000) overflows with a warning, and the
    # derivative built on it inherits the warning.
    "naive sigmoid": ({"sigmoid": NAIVE_SIGMOID}, {"test_sigmoid", "test_sigmoid_derivative"}),
    "sigmoid derivative uses x instead of sigma(x)": ({"sigmoid_derivative": '''
def sigmoid_derivative(x):
    return sigmoid(x) * (1 - x)
'''}, {"test_sigmoid_derivative"}),
    "relu modifies its input in place": ({"relu": '''
def relu(x):
    x[x < 0] = 0
    return x


def relu_derivative(x):
    return (x > 0).astype(float)
'''}, {"test_relu"}),
    "relu derivative is 1 at zero": ({"relu": '''
def relu(x):
    return np.maximum(x, 0)


def relu_derivative(x):
    return (x >= 0).astype(float)
'''}, {"test_relu"}),
    "leaky relu ignores its slope argument": ({"leaky_relu": '''
def leaky_relu(x, slope=0.01):
    return np.where(x > 0, x, 0.01 * x)


def leaky_relu_derivative(x, slope=0.01):
    return np.where(x > 0, 1.0, 0.01)
'''}, {"test_leaky_relu"}),
    "elu exponentiates every entry": ({"elu": '''
def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


def elu_derivative(x, alpha=1.0):
    return np.where(x > 0, 1.0, alpha * np.exp(x))
'''}, {"test_elu"}),
    "elu derivative forgets alpha": ({"elu": '''
def elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def elu_derivative(x, alpha=1.0):
    return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))
'''}, {"test_elu"}),
    "naive softplus": ({"softplus": '''
def softplus(x):
    return np.log(1 + np.exp(x))
'''}, {"test_softplus"}),
    "softmax without the max shift": ({"softmax": '''
def softmax(x):
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)
'''}, {"test_softmax"}),
    "softmax normalizes columns": ({"softmax": '''
def softmax(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
'''}, {"test_softmax"}),
    "a function that prints to stderr and crashes": ({"softplus": '''
import sys

def softplus(x):
    print("debugging softplus", file=sys.stderr)
    return undefined_name
'''}, {"test_softplus"}),
    # Right values, but through the library the student is asked to replace.
    "softplus delegates to course_lib": ({"softplus": '''
from course_lib import activations as act

def softplus(x):
    return act.softplus(x)
'''}, {"test_softplus"}),
}

CORRECT = {
    "loops over entries": {
        "sigmoid": '''
import math

def sigmoid(x):
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    for i, v in np.ndenumerate(x):
        out[i] = 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    return out
''',
        "softmax": '''
def softmax(x):
    x = np.asarray(x, dtype=float)
    out = np.empty_like(x)
    for row in range(x.shape[0]):
        shifted = x[row] - max(x[row])
        total = sum(math.exp(v) for v in shifted)
        out[row] = [math.exp(v) / total for v in shifted]
    return out
''',
    },
    "other stable formulas": {
        "sigmoid": '''
def sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(x, dtype=float)))
''',
        "softplus": '''
def softplus(x):
    return np.logaddexp(0, x)
''',
        "softmax": '''
def softmax(x):
    x = np.asarray(x, dtype=float)
    m = x.max(axis=1, keepdims=True)
    log_sum = m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    return np.exp(x - log_sum)
''',
        "relu": '''
def relu(x):
    x = np.asarray(x, dtype=float)
    return x * (x > 0)


def relu_derivative(x):
    return np.heaviside(x, 0.0)
''',
    },
    "log-space formulas and masked copies": {
        "sigmoid": '''
def sigmoid(x):
    # 1 / (1 + e^{-x}) = exp(-log(1 + e^{-x})), and logaddexp never overflows.
    return np.exp(-np.logaddexp(0.0, -np.asarray(x, dtype=float)))
''',
        "sigmoid_derivative": '''
def sigmoid_derivative(x):
    x = np.asarray(x, dtype=float)
    return np.exp(-np.logaddexp(0.0, -x) - np.logaddexp(0.0, x))  # sigma(x) sigma(-x)
''',
        "leaky_relu": '''
def leaky_relu(x, slope=0.01):
    x = np.asarray(x, dtype=float)
    return np.maximum(x, slope * x)


def leaky_relu_derivative(x, slope=0.01):
    x = np.asarray(x, dtype=float)
    return 1.0 * (x > 0) + slope * (x <= 0)
''',
        "elu": '''
def elu(x, alpha=1.0):
    out = np.array(x, dtype=float)  # a copy: the caller's array is left alone
    negative = out <= 0
    out[negative] = alpha * np.expm1(out[negative])
    return out


def elu_derivative(x, alpha=1.0):
    x = np.asarray(x, dtype=float)
    out = np.ones_like(x)
    negative = x <= 0
    out[negative] = alpha * np.exp(x[negative])
    return out
''',
    },
}
