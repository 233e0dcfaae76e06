"""Modules: layers that own their parameters, in the style of PyTorch.

A module wraps a forward/backward pair of ``course_lib.layers``:

    out = module.forward(x)       # or module(x); remembers what backward needs
    dx = module.backward(dout)    # writes each parameter's .grad, returns dL/dx

Each trainable array is a ``Parameter`` that keeps its value and its gradient side by side
(``p.value``, ``p.grad``), so an optimizer only needs ``model.parameters()``. ``backward``
overwrites ``.grad`` (it does not accumulate): one forward, one backward, one step.

Modules start in training mode; ``model.eval()`` switches dropout off and makes batch
normalization use its running statistics, ``model.train()`` switches back.
"""
from __future__ import annotations

import numpy as np

from . import init as initializers
from . import layers
from ._validation import ShapeError, as_float_array, check_width
from .activations import ELEMENTWISE


class Parameter:
    """A trainable array and its gradient.

    ``decay`` says whether L2 weight decay applies: True for weights, False for biases and
    batch-norm gains and shifts, whose decay would only hurt.
    """
    __slots__ = ("value", "grad", "name", "decay")

    def __init__(self, value: np.ndarray, name: str, decay: bool = True):
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name
        self.decay = decay

    def __repr__(self) -> str:
        return f"Parameter({self.name}, shape={self.value.shape}, dtype={self.value.dtype})"


class Module:
    """Base class: a forward, a backward, parameters, and a train/eval switch."""
    training = True

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def parameters(self) -> list[Parameter]:
        return []

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """(name, parameter) pairs; containers prefix names with the module's position."""
        return [(p.name, p) for p in self.parameters()]

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state that is saved and restored with the parameters."""
        return {}

    def train(self, mode: bool = True) -> "Module":
        self.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad.fill(0.0)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter value and buffer, by name (for early stopping)."""
        state = {name: p.value.copy() for name, p in self.named_parameters()}
        state.update({k: v.copy() for k, v in self.buffers().items()})
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy values back in place, so optimizers holding these arrays stay valid."""
        targets = {name: p.value for name, p in self.named_parameters()} | self.buffers()
        missing = targets.keys() - state.keys()
        if missing:
            raise KeyError(f"state is missing {sorted(missing)}")
        for name, target in targets.items():
            target[...] = state[name]

    def n_parameters(self) -> int:
        return sum(p.value.size for p in self.parameters())


class Linear(Module):
    """Affine layer out = x @ W + b.   x (N, in_features) -> out (N, out_features).

    ``init`` names a function of ``course_lib.init`` (default: Glorot uniform) or is a callable
    ``(fan_in, fan_out, seed=...) -> W``. The bias starts at zero.
    """

    def __init__(self, in_features: int, out_features: int, init="glorot_uniform",
                 seed=None, dtype=np.float64):
        make = initializers.INITIALIZERS[init] if isinstance(init, str) else init
        self.in_features, self.out_features = in_features, out_features
        self.W = Parameter(np.asarray(make(in_features, out_features, seed=seed), dtype=dtype),
                           "W")
        self.b = Parameter(np.zeros(out_features, dtype=dtype), "b", decay=False)

    def forward(self, x):
        x = as_float_array(x, "x", dtype=self.W.value.dtype)
        check_width(x, self.in_features, "x", repr(self))
        out, self._cache = layers.linear_forward(x, self.W.value, self.b.value)
        return out

    def backward(self, dout, input_grad: bool = True):
        """Write W.grad and b.grad; return dL/dx, or None if ``input_grad`` is False."""
        dx, self.W.grad, self.b.grad = layers.linear_backward(dout, self._cache, input_grad)
        return dx

    def parameters(self):
        return [self.W, self.b]

    def __repr__(self):
        return f"Linear({self.in_features} -> {self.out_features})"


class Activation(Module):
    """An elementwise activation by name: "relu", "sigmoid", "tanh", "leaky_relu", "elu",
    "softplus", "step" or "sign". Keyword arguments (``slope``, ``alpha``) go to the function.
    Output has the shape of the input."""

    # Activations whose derivative is cheapest from the output have dedicated pairs.
    _FAST = {"relu": (layers.relu_forward, layers.relu_backward),
             "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward),
             "tanh": (layers.tanh_forward, layers.tanh_backward)}

    def __init__(self, name: str, **kwargs):
        if name not in ELEMENTWISE:
            raise ValueError(f"unknown activation {name!r}; choose from {sorted(ELEMENTWISE)}")
        self.name, self.kwargs = name, kwargs

    def forward(self, x):
        x = as_float_array(x, "x")
        if self.name in self._FAST and not self.kwargs:
            out, self._cache = self._FAST[self.name][0](x)
        else:
            out, self._cache = layers.activation_forward(x, self.name, **self.kwargs)
        return out

    def backward(self, dout):
        if self.name in self._FAST and not self.kwargs:
            return self._FAST[self.name][1](dout, self._cache)
        return layers.activation_backward(dout, self._cache)

    def __repr__(self):
        return f"Activation({self.name!r})"


def ReLU():
    return Activation("relu")


def Sigmoid():
    return Activation("sigmoid")


def Tanh():
    return Activation("tanh")


class Maxout(Module):
    """Maxout layer: out_features units, each the max of ``pieces`` affine functions of x.
    x (N, in_features) -> out (N, out_features)."""

    def __init__(self, in_features: int, out_features: int, pieces: int = 2,
                 init="glorot_uniform", seed=None, dtype=np.float64):
        self.linear = Linear(in_features, out_features * pieces, init, seed, dtype)
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces

    def forward(self, x):
        x = as_float_array(x, "x", dtype=self.linear.W.value.dtype)
        check_width(x, self.in_features, "x", repr(self))
        out, self._cache = layers.maxout_forward(x, self.linear.W.value, self.linear.b.value,
                                                 self.pieces)
        return out

    def backward(self, dout):
        dx, self.linear.W.grad, self.linear.b.grad = layers.maxout_backward(dout, self._cache)
        return dx

    def parameters(self):
        return self.linear.parameters()

    def __repr__(self):
        return f"Maxout({self.in_features} -> {self.out_features}, pieces={self.pieces})"


class Dropout(Module):
    """Inverted dropout with drop probability ``p``; identity in eval mode.

    A new mask is drawn at every training forward from the module's own generator (seeded by
    ``seed``), so runs repeat exactly. Output has the shape of the input.
    """

    def __init__(self, p: float = 0.5, seed=None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)

    def forward(self, x):
        x = as_float_array(x, "x")
        out, self._cache = layers.dropout_forward(x, self.p, self.training, self.rng)
        return out

    def backward(self, dout):
        return layers.dropout_backward(dout, self._cache)

    def __repr__(self):
        return f"Dropout(p={self.p})"


class BatchNorm(Module):
    """Batch normalization over the batch axis for ``num_features`` features.
    x (N, num_features) -> out (N, num_features). Gain ``gamma`` starts at 1, shift ``beta``
    at 0; running statistics start at mean 0, variance 1."""

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype=np.float64):
        self.num_features, self.momentum, self.eps = num_features, momentum, eps
        self.gamma = Parameter(np.ones(num_features, dtype=dtype), "gamma", decay=False)
        self.beta = Parameter(np.zeros(num_features, dtype=dtype), "beta", decay=False)
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def forward(self, x):
        x = as_float_array(x, "x", dtype=self.gamma.value.dtype)
        check_width(x, self.num_features, "x", repr(self))
        if self.training and x.shape[0] < 2:
            raise ShapeError("BatchNorm in training mode needs a batch of at least 2 examples "
                             "to estimate a variance; use eval mode for single examples")
        out, self._cache = layers.batchnorm_forward(
            x, self.gamma.value, self.beta.value, self.running_mean, self.running_var,
            self.training, self.momentum, self.eps)
        return out

    def backward(self, dout):
        dx, self.gamma.grad, self.beta.grad = layers.batchnorm_backward(dout, self._cache)
        return dx

    def parameters(self):
        return [self.gamma, self.beta]

    def buffers(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def __repr__(self):
        return f"BatchNorm({self.num_features})"


class Sequential(Module):
    """Modules applied one after the other; backward runs them in reverse order."""

    def __init__(self, *modules: Module):
        self.modules = list(modules)

    def forward(self, x):
        for m in self.modules:
            x = m.forward(x)
        return x

    def backward(self, dout, input_grad: bool = True):
        """Backpropagate ``dout`` through the modules in reverse order and return dL/dx.

        A training loop passes ``input_grad=False``: x is then the data, whose gradient nobody
        reads, so a first Linear layer skips computing it (as PyTorch does for inputs that do
        not require grad), and None is returned.
        """
        for i, m in reversed(list(enumerate(self.modules))):
            skip_dx = i == 0 and not input_grad and isinstance(m, Linear)
            dout = m.backward(dout, input_grad=False) if skip_dx else m.backward(dout)
        return dout if input_grad else None

    def parameters(self):
        return [p for m in self.modules for p in m.parameters()]

    def named_parameters(self):
        return [(f"{i}.{name}", p) for i, m in enumerate(self.modules)
                for name, p in m.named_parameters()]

    def buffers(self):
        return {f"{i}.{name}": b for i, m in enumerate(self.modules)
                for name, b in m.buffers().items()}

    def train(self, mode: bool = True):
        self.training = mode
        for m in self.modules:
            m.train(mode)
        return self

    def __getitem__(self, i):
        return self.modules[i]

    def __len__(self):
        return len(self.modules)

    def __repr__(self):
        inner = "\n".join(f"  ({i}) {m!r}" for i, m in enumerate(self.modules))
        return f"Sequential(\n{inner}\n)"


def mlp(sizes, activation: str = "relu", *, dropout: float = 0.0, batchnorm: bool = False,
        init: str | None = None, seed=None, dtype=np.float64) -> Sequential:
    """A multilayer perceptron: Linear layers of the given ``sizes`` with activations between.

    ``sizes = [D, H1, ..., HL, C]`` gives L hidden layers; the last layer is linear (it outputs
    scores for a loss that takes logits). Each hidden layer is Linear -> [BatchNorm] ->
    activation -> [Dropout]. ``init`` defaults to He normal for ReLU-like activations and
    Glorot uniform otherwise. One generator seeded by ``seed`` initializes every layer and
    drives every dropout mask, so a seed fixes the whole network.
    """
    if len(sizes) < 2:
        raise ValueError(f"an MLP needs at least input and output sizes, got {sizes}")
    if init is None:
        init = "he_normal" if activation in ("relu", "leaky_relu", "elu") else "glorot_uniform"
    rng = np.random.default_rng(seed)
    modules: list[Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        modules.append(Linear(fan_in, fan_out, init, rng, dtype))
        if i < len(sizes) - 2:
            if batchnorm:
                modules.append(BatchNorm(fan_out, dtype=dtype))
            modules.append(Activation(activation))
            if dropout:
                modules.append(Dropout(dropout, rng))
    return Sequential(*modules)
