"""Assignment 04-backprop: realistic mistakes and correct alternatives."""

from . import combine

# Templates: a correct answer in which the lines given to the helper replace the right ones.

LINEAR_BACKWARD = '''
def linear_backward(dout, cache):
    x, W, b = cache
    dx = {dx}
    dW = {dW}
    db = {db}
    return dx, dW, db
'''


def linear_backward(dx="dout @ W.T", dW="x.T @ dout", db="dout.sum(axis=0)"):
    return {"linear_backward": LINEAR_BACKWARD.format(dx=dx, dW=dW, db=db)}


RELU = '''
def relu_forward(x):
    return np.maximum(x, 0), {cache}


def relu_backward(dout, cache):
{backward}
'''


def relu(backward, cache="x"):
    return {"relu": RELU.format(cache=cache, backward=backward)}


TWO_LAYER = '''
def two_layer_loss(X, y, params):
    a1, first = linear_forward(X, params["W1"], params["b1"])
    h1, active = relu_forward(a1)
    scores, second = linear_forward(h1, params["W2"], params["b2"])
    loss, dscores = softmax_cross_entropy(scores, y)
{backward}
    return loss, {{"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}}
'''


def two_layer(backward):
    return {"two_layer_loss": TWO_LAYER.format(backward=backward)}


ADD_MUL = '''
def sum_to(grad, shape):
    return grad.sum(axis=tuple(range(grad.ndim - len(shape))))


class Add(Node):
    def forward(self):
        a, b = self.parents
        self.value = a.value + b.value

    def backward(self):
{add}


class Mul(Node):
    def forward(self):
        a, b = self.parents
        self.value = a.value * b.value

    def backward(self):
{mul}
'''
ADD_OK = '''        for parent in self.parents:
            parent.grad += sum_to(self.grad, parent.value.shape)'''
MUL_OK = '''        a, b = self.parents
        a.grad += sum_to(self.grad * b.value, a.value.shape)
        b.grad += sum_to(self.grad * a.value, b.value.shape)'''


def add_mul(add=ADD_OK, mul=MUL_OK):
    return {"add_mul": ADD_MUL.format(add=add, mul=mul)}


MATMUL = '''
class MatMul(Node):
    def forward(self):
        a, b = self.parents
        self.value = a.value @ b.value

    def backward(self):
        a, b = self.parents
{backward}
'''


def matmul(backward):
    return {"matmul": MATMUL.format(backward=backward)}


# Each mistake: (cells, the test cells it must lose).
MISTAKES = {
    "linear forward forgets the bias": ({"linear_forward": '''
def linear_forward(x, W, b):
    return x @ W, (x, W, b)
'''}, {"test_linear_forward"}),
    "linear forward caches (x, W) only": ({"linear_forward": '''
def linear_forward(x, W, b):
    return x @ W + b, (x, W)
'''}, {"test_linear_forward"}),
    "dW transposed": (linear_backward(dW="dout.T @ x"), {"test_linear_backward"}),
    # Right shapes for every W, wrong values: a reshape is not a transpose.
    "dx with W reshaped instead of transposed": (
        linear_backward(dx="dout @ W.reshape(W.shape[1], W.shape[0])"), {"test_linear_backward"}),
    # Written and tried on square weights, where the shapes fit.
    "dx with W instead of W.T": (
        linear_backward(dx="dout @ W"), {"test_linear_backward"}),
    "db summed over the wrong axis": (linear_backward(db="dout.sum(axis=1)"), {"test_linear_backward"}),
    "db summed over every axis": (linear_backward(db="np.sum(dout)"), {"test_linear_backward"}),
    "1/N in dW and db": (linear_backward(dW="x.T @ dout / len(x)", db="dout.mean(axis=0)"),
                         {"test_linear_backward"}),
    # Each agrees with finite differences of the other: only the reference catches the pair.
    "a consistent pair that subtracts the bias": ({"linear_forward": '''
def linear_forward(x, W, b):
    return x @ W - b, (x, W, b)
''', **linear_backward(db="-dout.sum(axis=0)")}, {"test_linear_forward", "test_linear_backward"}),
    "linear backward calls course_lib": ({"linear_backward": '''
from course_lib import layers

def linear_backward(dout, cache):
    x, W, b = cache
    return layers.linear_backward(dout, (x, W))
'''}, {"test_linear_backward"}),
    "relu gradient passes at exactly 0 (x >= 0)": (relu("    return dout * (cache >= 0)"), {"test_relu"}),
    "relu mask from the output, out >= 0": (
        relu("    return dout * (cache >= 0)", cache="np.maximum(x, 0)"), {"test_relu"}),
    "relu backward forgets the upstream gradient": (relu("    return (cache > 0).astype(float)"),
                                                    {"test_relu"}),
    "relu backward zeroes dout in place": (relu("    dout[cache <= 0] = 0\n    return dout"), {"test_relu"}),
    # The cache is the array the forward returned, which the next layer still holds.
    "relu backward overwrites its cached output": ({"relu": '''
def relu_forward(x):
    out = np.maximum(x, 0)
    return out, out


def relu_backward(dout, cache):
    cache[cache > 0] = 1.0
    return dout * cache
'''}, {"test_relu"}),
    "relu forward modifies its input": ({"relu": '''
def relu_forward(x):
    x[x < 0] = 0
    return x, x


def relu_backward(dout, cache):
    return dout * (cache > 0)
'''}, {"test_relu"}),
    "two-layer backward skips the ReLU": (two_layer('''
    dh1, dW2, db2 = linear_backward(dscores, second)
    _, dW1, db1 = linear_backward(dh1, first)'''), {"test_two_layer_loss"}),
    "two-layer backward divides by N again": (two_layer('''
    dh1, dW2, db2 = linear_backward(dscores / len(X), second)
    _, dW1, db1 = linear_backward(relu_backward(dh1, active), first)'''), {"test_two_layer_loss"}),
    "two-layer dW2 from the ReLU's input": (two_layer('''
    dh1, _, db2 = linear_backward(dscores, second)
    dW2 = a1.T @ dscores
    _, dW1, db1 = linear_backward(relu_backward(dh1, active), first)'''), {"test_two_layer_loss"}),
    # The row maxima (N,) broadcast along the columns: right for a batch of one example only.
    "two-layer softmax written out, row maxima without keepdims": ({"two_layer_loss": '''
def two_layer_loss(X, y, params):
    a1, first = linear_forward(X, params["W1"], params["b1"])
    h1, active = relu_forward(a1)
    scores, second = linear_forward(h1, params["W2"], params["b2"])
    shifted = scores - scores.max(axis=1)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    rows = np.arange(len(X))
    loss = -np.mean(np.log(p[rows, y]))
    dscores = p.copy()
    dscores[rows, y] -= 1
    dscores /= len(X)
    dh1, dW2, db2 = linear_backward(dscores, second)
    _, dW1, db1 = linear_backward(relu_backward(dh1, active), first)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
'''}, {"test_two_layer_loss"}),
    "Add assigns its shares instead of adding them": (add_mul(add='''
        for parent in self.parents:
            parent.grad = sum_to(self.grad, parent.value.shape)'''), {"test_add_mul"}),
    "Add only sums the second operand's broadcast": (add_mul(add='''
        a, b = self.parents
        a.grad += self.grad
        b.grad += sum_to(self.grad, b.value.shape)'''), {"test_add_mul"}),
    "Add sums the broadcast operand over the wrong axis": (add_mul(add='''
        for parent in self.parents:
            parent.grad += self.grad if parent.value.shape == self.grad.shape else self.grad.sum(axis=1)'''),
        {"test_add_mul"}),
    "Mul sends each operand its own value": (add_mul(mul='''
        a, b = self.parents
        a.grad += sum_to(self.grad * a.value, a.value.shape)
        b.grad += sum_to(self.grad * b.value, b.value.shape)'''), {"test_add_mul"}),
    "Mul scales self.grad in place": (add_mul(mul='''
        a, b = self.parents
        grad = self.grad
        b.grad += sum_to(grad * a.value, b.value.shape)
        grad *= b.value
        a.grad += sum_to(grad, a.value.shape)'''), {"test_add_mul"}),
    "MatMul assigns its shares instead of adding them": (matmul('''
        a.grad = self.grad @ b.value.T
        b.grad = a.value.T @ self.grad'''), {"test_matmul"}),
    "MatMul's share for b transposed the wrong way": (matmul('''
        a.grad += self.grad @ b.value.T
        b.grad += self.grad.T @ a.value'''),
        {"test_matmul"}),
    "MatMul subclasses course_lib's": ({"matmul": '''
from course_lib import graph


class MatMul(graph.MatMul):
    pass
'''}, {"test_matmul"}),
}


GROUPS = [
    ("a consistent pair that subtracts the bias", "relu gradient passes at exactly 0 (x >= 0)",
     "Add assigns its shares instead of adding them", "MatMul assigns its shares instead of adding them"),
    ("linear forward forgets the bias", "dW transposed", "relu mask from the output, out >= 0",
     "two-layer backward skips the ReLU", "Mul sends each operand its own value"),
    ("linear forward caches (x, W) only", "dx with W reshaped instead of transposed",
     "relu backward forgets the upstream gradient", "two-layer backward divides by N again",
     "Add only sums the second operand's broadcast", "MatMul's share for b transposed the wrong way"),
    ("dx with W instead of W.T", "relu backward zeroes dout in place",
     "two-layer dW2 from the ReLU's input", "Add sums the broadcast operand over the wrong axis",
     "MatMul subclasses course_lib's"),
    ("db summed over the wrong axis", "relu backward overwrites its cached output", "Mul scales self.grad in place"),
    ("db summed over every axis", "relu forward modifies its input",
     "two-layer softmax written out, row maxima without keepdims"),
    ("1/N in dW and db",),
    ("linear backward calls course_lib",),
]
assert sorted(n for group in GROUPS for n in group) == sorted(MISTAKES), "every mistake once"
BUGGY = combine(MISTAKES, GROUPS)

CORRECT = {
    "loops and explicit sums": {
        "linear_forward": '''
def linear_forward(x, W, b):
    out = np.empty((x.shape[0], W.shape[1]))
    for i in range(x.shape[0]):
        out[i] = x[i] @ W + b
    return out, (x, W, b)
''',
        "linear_backward": '''
def linear_backward(dout, cache):
    x, W, b = cache
    dx = np.zeros(x.shape)
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    for i in range(x.shape[0]):
        dx[i] = W @ dout[i]
        dW += np.outer(x[i], dout[i])
        db += dout[i]
    return dx, dW, db
''',
        "relu": '''
def relu_forward(x):
    return np.where(x > 0, x, 0.0), x


def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0)
''',
        "two_layer_loss": '''
def two_layer_loss(X, y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    a1 = X @ W1 + b1
    h1 = np.maximum(a1, 0)
    scores = h1 @ W2 + b2
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(X)
    loss = -log_p[np.arange(n), y].mean()
    dscores = np.exp(log_p)
    dscores[np.arange(n), y] -= 1
    dscores /= n
    dh1 = dscores @ W2.T
    da1 = dh1 * (a1 > 0)
    return loss, {"W1": X.T @ da1, "b1": da1.sum(axis=0), "W2": h1.T @ dscores, "b2": dscores.sum(axis=0)}
''',
        "add_mul": '''
def sum_to(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    return grad


class Add(Node):
    def forward(self):
        self.value = self.parents[0].value + self.parents[1].value

    def backward(self):
        for parent in self.parents:
            parent.grad += sum_to(self.grad, parent.value.shape)


class Mul(Node):
    def forward(self):
        self.value = self.parents[0].value * self.parents[1].value

    def backward(self):
        a, b = self.parents
        for parent, other in [(a, b), (b, a)]:
            parent.grad += sum_to(self.grad * other.value, parent.value.shape)
''',
        "matmul": '''
class MatMul(Node):
    def forward(self):
        a, b = self.parents
        self.value = np.dot(a.value, b.value)

    def backward(self):
        a, b = self.parents
        a.grad += np.dot(self.grad, b.value.T)
        b.grad += np.dot(a.value.T, self.grad)
''',
    },
    "einsum, copies in the caches and another unbroadcast": {
        "linear_forward": '''
def linear_forward(x, W, b):
    return np.einsum("nd,dm->nm", x, W) + b[None, :], (x.copy(), W.copy(), b.copy())
''',
        "linear_backward": '''
def linear_backward(dout, cache):
    x, W, b = cache
    return np.einsum("nm,dm->nd", dout, W), np.einsum("nd,nm->dm", x, dout), np.einsum("nm->m", dout)
''',
        "relu": '''
def relu_forward(x):
    mask = x > 0
    return x * mask, mask


def relu_backward(dout, cache):
    dx = dout.copy()
    dx[~cache] = 0.0
    return dx
''',
        "two_layer_loss": '''
def two_layer_loss(X, y, params):
    caches = []
    h = X
    for layer in (1, 2):
        h, cache = linear_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        caches.append(cache)
        if layer == 1:
            h, relu_cache = relu_forward(h)
    loss, dout = softmax_cross_entropy(h, y)
    grads = {}
    for layer in (2, 1):
        if layer == 1:
            dout = relu_backward(dout, relu_cache)
        dout, grads[f"W{layer}"], grads[f"b{layer}"] = linear_backward(dout, caches[layer - 1])
    return loss, grads
''',
        "add_mul": '''
def sum_to(grad, shape):
    return grad.reshape(-1, *shape).sum(axis=0) if grad.shape != shape else grad


class Add(Node):
    def forward(self):
        a, b = self.parents
        self.value = np.add(a.value, b.value)

    def backward(self):
        a, b = self.parents
        a.grad += sum_to(self.grad, a.value.shape)
        b.grad += sum_to(self.grad, b.value.shape)


class Mul(Node):
    def forward(self):
        a, b = self.parents
        self.value = np.multiply(a.value, b.value)

    def backward(self):
        a, b = self.parents
        a.grad = a.grad + sum_to(self.grad * b.value, a.value.shape)
        b.grad = b.grad + sum_to(self.grad * a.value, b.value.shape)
''',
        "matmul": '''
class MatMul(Node):
    def forward(self):
        a, b = self.parents
        self.value = np.einsum("nk,km->nm", a.value, b.value)

    def backward(self):
        a, b = self.parents
        a.grad += np.einsum("nm,km->nk", self.grad, b.value)
        b.grad += np.einsum("nk,nm->km", a.value, self.grad)
''',
    },
    "the output as ReLU cache, assignment 2's activations, another order": {
        "relu": '''
from course_lib import activations


def relu_forward(x):
    out = activations.relu(x)
    return out, out


def relu_backward(dout, cache):
    return dout * activations.relu_derivative(cache)
''',
        "two_layer_loss": '''
def two_layer_loss(X, y, params):
    hidden, cache1 = linear_forward(X, params["W1"], params["b1"])
    hidden, cache2 = relu_forward(hidden)
    scores, cache3 = linear_forward(hidden, params["W2"], params["b2"])
    loss, d = softmax_cross_entropy(scores, y)
    d, dW2, db2 = linear_backward(d, cache3)
    d = relu_backward(d, cache2)
    d, dW1, db1 = linear_backward(d, cache1)
    return loss, dict(W2=dW2, b2=db2, W1=dW1, b1=db1)
''',
    },
}
