"""Verification of 04-backprop: the behaviours the hidden tests check, on fresh inputs.

- linear_forward / linear_backward on the hidden tests' (N, D, M): a batch of one, square and
  non-square weights, D = 1 and M = 1; the output and the cache (x, W, b), the gradients
  against the reference and against finite differences of the reference forward, the inputs
  unchanged, and a second call on copies giving the same gradients.
- relu_forward / relu_backward on 1-d, 2-d and 3-d inputs with entries exactly 0 (the kink,
  where dx must be 0); finite differences away from the kink; x, dout and the output of the
  forward (the next layer holds it) unchanged, and the cache reusable.
- two_layer_loss with the course's layers in place of the student's (only the composition
  counts, as in the hidden tests): the loss and every gradient, against the reference and
  finite differences, inputs unchanged, and without calling course_lib.graph.
- Add, Mul and MatMul inside a flow graph: the value and both operands' gradients for same,
  broadcast (over leading axes, and 0-d) and matrix shapes, against the reference boxes and
  finite differences; self.grad unchanged by backward; a parent used twice (the shares add
  up); MatMul in a two-layer network; forward and backward not running course_lib.graph's code.

course_lib.layers (the reference of the first four parts) is hidden from the child, and
course_lib.nn with it (it cannot be imported without the layers). course_lib.graph cannot be
hidden (the setup cell imports Node from it), so the calls of two_layer_loss and the boxes'
forward and backward with x used twice are watched, like the hidden tests' check_not_calling,
for running its code.
"""
import numpy as np

from course_lib import graph, layers, losses
from course_lib.gradcheck import numerical_gradient

from ..verify import probe, substitute, unwatched

SETUP = ("setup",)
REFERENCES = ("course_lib.layers",)
GRAPH_CODE = ("course_lib.graph",)  # watched

LINEAR_SHAPES = [(1, 3, 2), (4, 5, 3), (3, 3, 3), (2, 1, 4), (5, 2, 1)]  # (N, D, M)
RELU_SHAPES = [(4, 3), (1, 5), (2, 3, 2), (7,), (1, 1)]
NETWORK_SHAPES = [(1, 4, 5, 3), (6, 5, 7, 4), (3, 3, 3, 3), (8, 2, 6, 10)]  # (N, D, H, C)
BOX_SHAPES = [((4, 3), (4, 3)), ((4, 3), (3,)), ((3,), (4, 3)), ((1, 5), (5,)), ((3, 3), (3,)),
              ((2, 3), ()), ((), (2, 3)), ((2, 3, 2), (2,))]

LINEAR_HINTS = {"dx": "dx = dout @ W.T, shapes (N, M) @ (M, D); W.T is a transpose, not a reshape",
                "dW": "dW = x.T @ dout, shapes (D, N) @ (N, M); no 1/N: a mean loss has it inside dout already",
                "db": "db sums dout over the batch, axis 0, giving shape (M,)"}
NETWORK_HINTS = {"loss": "the mean cross-entropy of the scores of linear -> relu -> linear",
                 "W2": "dW2 = h1.T @ dscores, with h1 the ReLU's output (not its input a1)",
                 "b2": "db2 sums dscores over the batch",
                 "W1": "the gradient reaches W1 through layer 2 and the ReLU: dh1 = dscores @ W2.T, "
                       "then the ReLU's mask",
                 "b1": "the gradient reaches b1 through the ReLU, which stops it where a1 <= 0"}
SHARE_HINTS = {"Add": "a broadcast operand's gradient is summed over the axes it was broadcast along",
               "Mul": "the share of a is self.grad times b, and the share of b is self.grad times a",
               "MatMul": "a.grad += self.grad @ b.T: shapes (N, M) @ (M, K); "
                         "b.grad += a.T @ self.grad: shapes (K, N) @ (N, M)"}
SYMBOLS = {"Add": "+", "Mul": "*", "MatMul": "@"}
TWICE_HINT = "add your shares to parent.grad (+=) rather than assigning them: a parent may be used twice"


# --- the references, in the notebook's conventions ---------------------------------------------

def _linear_forward(x, W, b):
    return layers.linear_forward(x, W, b)[0], (x, W, b)


def _linear_backward(dout, cache):
    return layers.linear_backward(dout, cache[:2])


def _two_layer_loss(X, y, params):
    a1, first = layers.linear_forward(X, params["W1"], params["b1"])
    h1, active = layers.relu_forward(a1)
    scores, second = layers.linear_forward(h1, params["W2"], params["b2"])
    loss, dscores = losses.softmax_cross_entropy(scores, y)
    dh1, dW2, db2 = layers.linear_backward(dscores, second)
    _, dW1, db1 = layers.linear_backward(layers.relu_backward(dh1, active), first)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


LAYERS = {"linear_forward": _linear_forward, "linear_backward": _linear_backward,
          "relu_forward": layers.relu_forward, "relu_backward": layers.relu_backward,
          "two_layer_loss": _two_layer_loss}
GRAPH = {"Add": graph.Add, "Mul": graph.Mul, "MatMul": graph.MatMul, "Node": graph.Node,
         "Input": graph.Input, "Param": graph.Param, "backprop": graph.backprop,
         "softmax_cross_entropy": losses.softmax_cross_entropy}


# --- probes: what the child runs (numpy, the notebook's namespace and the arguments only) ------

def linear_forward_probe(ns, x, W, b):
    result = ns["linear_forward"](x, W, b)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(f"linear_forward should return the pair (out, cache), got {type(result).__name__}")
    out, cache = result
    if not isinstance(cache, (tuple, list)) or len(cache) != 3:
        raise TypeError("the cache should be the tuple (x, W, b) that linear_backward unpacks, got "
                        f"{type(cache).__name__} of length {len(cache) if hasattr(cache, '__len__') else '?'}")
    return out, cache[0], cache[1], cache[2]


def linear_backward_probe(ns, dout, x, W, b, gradient):
    """One of the gradients (dx, dW, db), and the same from a second call on copies."""
    first = ns["linear_backward"](dout, (x, W, b))
    again = ns["linear_backward"](dout.copy(), (x.copy(), W.copy(), b.copy()))
    for result in (first, again):
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise TypeError("linear_backward should return the three gradients (dx, dW, db), got "
                            f"{type(result).__name__}")
    k = ["dx", "dW", "db"].index(gradient)
    return first[k], again[k]


def relu_probe(ns, x, dout):
    x0, dout0 = x.copy(), dout.copy()
    result = ns["relu_forward"](x)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(f"relu_forward should return the pair (out, cache), got {type(result).__name__}")
    out, cache = result
    out_before = np.array(out, dtype=float)
    dx = ns["relu_backward"](dout, cache)
    far = np.where(np.abs(x0) < 1e-3, 0.5, x0)  # finite differences are meaningless at the kink
    dx_far = ns["relu_backward"](dout0.copy(), ns["relu_forward"](far.copy())[1])
    again = ns["relu_backward"](dout0.copy(), cache)
    return out_before, dx, dx_far, again, out


def two_layer_loss_probe(ns, X, y, W1, b1, W2, b2, output):
    """The loss or one gradient of two_layer_loss with the course's layers in place of the
    notebook's."""
    def linear_forward(x, W, b):
        out = x @ W
        out += b
        return out, (x, W, b)

    def linear_backward(dout, cache):
        x, W, _ = cache
        return dout @ W.T, x.T @ dout, dout.sum(axis=0)

    def relu_forward(x):
        out = np.maximum(x, 0.0)
        return out, out

    def relu_backward(dout, cache):
        return dout * (cache > 0)

    with substitute(ns, linear_forward=linear_forward, linear_backward=linear_backward,
                    relu_forward=relu_forward, relu_backward=relu_backward):
        result = ns["two_layer_loss"](X, y.astype(int), {"W1": W1, "b1": b1, "W2": W2, "b2": b2})
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise TypeError(f"two_layer_loss should return the pair (loss, grads), got {type(result).__name__}")
    loss, grads = result
    if not isinstance(grads, dict) or sorted(grads) != ["W1", "W2", "b1", "b2"]:
        raise TypeError("grads should be a dict with the keys 'W1', 'b1', 'W2', 'b2', got "
                        + (repr(sorted(grads)) if isinstance(grads, dict) else type(grads).__name__))
    return loss if output == "loss" else grads[output]


def box_probe(ns, a, b, G, box):
    """box(a, b) on two Params, given dL/d(box) = G as backprop gives it: the value, both
    operands' gradients, and the box's own grad after its backward."""
    left, right = ns["Param"](a.copy()), ns["Param"](b.copy())
    node = ns[box](left, right)
    left.grad, right.grad = np.zeros(left.value.shape), np.zeros(right.value.shape)
    node.grad = G.copy()
    node.backward()
    return node.value, left.grad, right.grad, node.grad


def box_twice_probe(ns, x, G, box):
    """box(x, x): x's gradient; as in the hidden tests, only the box's forward and backward are
    watched, not its construction (Node.__init__ is course_lib.graph's)."""
    leaf = unwatched(ns["Param"])(x.copy())
    node = unwatched(ns[box])(leaf, leaf)
    leaf.grad, node.grad = np.zeros(leaf.value.shape), G.copy()
    node.forward()
    node.backward()
    return leaf.grad


def matmul_network_probe(ns, X, y, W1, b1, W2, b2):
    """The gradients of a two-layer ReLU network's softmax cross-entropy built with the
    notebook's MatMul for both products; the other boxes are the spec's own."""
    Node, Input = ns["Node"], ns["Input"]

    class Bias(Node):
        def forward(self):
            h, bias = self.parents
            self.value = h.value + bias.value

        def backward(self):
            h, bias = self.parents
            h.grad += self.grad
            bias.grad += self.grad.sum(axis=0)

    class Relu(Node):
        def forward(self):
            self.value = np.maximum(self.parents[0].value, 0.0)

        def backward(self):
            self.parents[0].grad += self.grad * (self.parents[0].value > 0)

    class Loss(Node):
        def forward(self):
            scores, labels = self.parents
            loss, self.dscores = ns["softmax_cross_entropy"](scores.value, labels.value)
            self.value = np.asarray(loss)

        def backward(self):
            self.parents[0].grad += self.grad * self.dscores

    leaves = [ns["Param"](v.copy()) for v in (W1, b1, W2, b2)]
    hidden = Relu(Bias(ns["MatMul"](Input(X), leaves[0]), leaves[1]))
    loss = Loss(Bias(ns["MatMul"](hidden, leaves[2]), leaves[3]), Input(y.astype(int)))
    ns["backprop"](loss)
    return tuple(leaf.grad for leaf in leaves)


# --- centered differences of the reference forward, in the parent ------------------------------

def _linear_numerical(dout, x, W, b, gradient):
    def loss(v):
        args = {"dx": x, "dW": W, "db": b, gradient: v}
        return np.sum(layers.linear_forward(args["dx"], args["dW"], args["db"])[0] * dout)

    return numerical_gradient(loss, {"dx": x, "dW": W, "db": b}[gradient].copy()), None


def _relu_numerical(x, dout):
    far = np.where(np.abs(x) < 1e-3, 0.5, x)
    return None, None, numerical_gradient(lambda v: np.sum(layers.relu_forward(v)[0] * dout), far), None, None


def _mlp_loss(X, y, values):
    nodes = [graph.Param(v.copy()) for v in values]
    return float(graph.mlp_graph(graph.Input(X), graph.Input(y.astype(int)), nodes[0::2], nodes[1::2]).value)


def _two_layer_numerical(X, y, W1, b1, W2, b2, output):
    if output == "loss":
        return (None,)
    values = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    order = ["W1", "b1", "W2", "b2"]
    return (numerical_gradient(lambda v: _mlp_loss(X, y, [v if k == output else values[k] for k in order]),
                               values[output].copy()),)


def _box_numerical(a, b, G, box):
    reference = GRAPH[box]
    return (None,
            numerical_gradient(lambda v: np.sum(G * reference(graph.Input(v), graph.Input(b)).value), a.copy()),
            numerical_gradient(lambda v: np.sum(G * reference(graph.Input(a), graph.Input(v)).value), b.copy()),
            None)


def _network_numerical(X, y, W1, b1, W2, b2):
    values = [W1, b1, W2, b2]
    return tuple(None if k % 2 else numerical_gradient(
        lambda v, k=k: _mlp_loss(X, y, values[:k] + [v] + values[k + 1:]), values[k].copy())
        for k in range(4))


# --- the calls of each part --------------------------------------------------------------------

def _box_calls(rng, box, cases):
    calls = []
    for shape_a, shape_b in cases:
        a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
        G = rng.standard_normal(np.broadcast_shapes(shape_a, shape_b) if box != "MatMul"
                                else (shape_a[0], shape_b[1]))
        calls.append(probe(box_probe, GRAPH, a, b, G, box=box, needs=(box, "Param"),
                           name=f"{box}(a, b) for a of shape {shape_a}, b of shape {shape_b}",
                           outputs=(f"value a {SYMBOLS[box]} b", "a.grad", "b.grad",
                                    f"{box}'s own grad after its backward (it must not change)"),
                           numerical=_box_numerical, hint=SHARE_HINTS[box]))
    x = rng.standard_normal((3, 3) if box == "MatMul" else (3, 2))
    calls.append(probe(box_twice_probe, GRAPH, x, rng.standard_normal(x.shape), box=box,
                       needs=(box, "Param"), name=f"{box}(x, x) for x of shape {x.shape}, x used twice",
                       outputs=("x.grad",), hint=TWICE_HINT, watch=GRAPH_CODE))
    return calls


def _network(rng, n, d, h, c, scale):
    return (rng.standard_normal((n, d)), rng.integers(0, c, size=n).astype(float),
            rng.standard_normal((d, h)), scale * rng.standard_normal(h),
            rng.standard_normal((h, c)), scale * rng.standard_normal(c))


def parts(rng):
    linear_forward, linear_backward = [], []
    for n, d, m in LINEAR_SHAPES:
        x, W, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
        sizes = f"x of shape {x.shape} and W of shape {W.shape}"
        linear_forward.append(probe(
            linear_forward_probe, LAYERS, x, W, b, needs=("linear_forward",), unchanged=True,
            name=f"linear_forward for {sizes}", outputs=("out", "cache[0] (it should be x)",
                                                         "cache[1] (it should be W)", "cache[2] (it should be b)"),
            hint="out = x @ W + b: the bias is added to every row; the cache holds the inputs in the order (x, W, b)"))
        dout = rng.standard_normal((n, m))
        linear_backward += [probe(
            linear_backward_probe, LAYERS, dout, x, W, b, gradient=g, needs=("linear_backward",),
            unchanged=True, numerical=_linear_numerical, name=f"linear_backward for {sizes}",
            outputs=(g, f"{g} from a second call on the same inputs"), hint=hint)
            for g, hint in LINEAR_HINTS.items()]

    relu = []
    for shape in RELU_SHAPES:
        x = rng.standard_normal(shape)
        x.flat[::3] = 0.0  # inputs exactly at the kink, where the convention decides
        relu.append(probe(
            relu_probe, LAYERS, x, rng.standard_normal(shape), needs=("relu_forward", "relu_backward"),
            unchanged=True, numerical=_relu_numerical, name=f"relu_forward and relu_backward for x of shape {shape}",
            outputs=("out", "dx", "dx away from the kink", "dx from a second call with the same cache",
                     "the output of relu_forward after relu_backward (it must not change)"),
            hint="dx = dout where x > 0 and 0 elsewhere, also where x is exactly 0; compute new arrays "
                 "instead of assigning into x, dout or the cache"))

    two_layer = []
    for n, d, h, c in NETWORK_SHAPES:
        network = _network(rng, n, d, h, c, 0.5)
        two_layer += [probe(
            two_layer_loss_probe, LAYERS, *network, output=output, needs=("two_layer_loss",),
            unchanged=True, numerical=_two_layer_numerical, watch=GRAPH_CODE,
            name=f"two_layer_loss for N={n}, D={d}, H={h}, C={c} (with the course's layers)",
            outputs=("the loss" if output == "loss" else f"grads[{output!r}]",), hint=hint)
            for output, hint in NETWORK_HINTS.items()]

    matmul = _box_calls(rng, "MatMul", [((n, k), (k, m)) for n, k, m in LINEAR_SHAPES])
    matmul.append(probe(
        matmul_network_probe, GRAPH, *_network(rng, 6, 4, 5, 3, 0.5),
        needs=("MatMul", "Node", "Input", "Param", "backprop", "softmax_cross_entropy"),
        numerical=_network_numerical, name="a two-layer network built with MatMul, N=6, D=4, H=5, C=3",
        outputs=("W1.grad", "b1.grad", "W2.grad", "b2.grad"), hint=SHARE_HINTS["MatMul"]))

    return {
        "test_linear_forward": linear_forward,
        "test_linear_backward": linear_backward,
        "test_relu": relu,
        "test_two_layer_loss": two_layer,
        "test_add_mul": _box_calls(rng, "Add", BOX_SHAPES) + _box_calls(rng, "Mul", BOX_SHAPES),
        "test_matmul": matmul,
    }
