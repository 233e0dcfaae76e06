"""Verification of 07-optimizers: the behaviours the hidden tests check, on fresh inputs.

Each optimizer is built on fresh random parameters of the hidden tests' shapes (one, two of
the same shape, four of different shapes) with their settings (defaults, other learning
rates and coefficients, weight decay, a learning rate dropped at step 4, gradients of size
1e-6, a large eps, a coordinate whose gradient is always zero) and stepped as many times on
fresh random gradients. The change of every parameter at every step must match
course_lib's, within the hidden tests' tolerances (rtol 1e-7, atol 1e-13); every value array
must stay the same object (updated in place); every .grad must be left as given; no
warning. Adam's first step is also checked on gradients spread over four decades.

As in the hidden tests, course_lib.optim's own optimizers are disabled while the probe runs:
a submission that calls, delegates to or subclasses them fails. course_lib.optim cannot be
hidden from the child (the classes subclass its Optimizer), so the reference the probes are
compared with is a private copy of it, which disabling the shared module leaves intact.
"""
import importlib.util

import numpy as np

from ..verify import probe

SETUP = ("setup",)
REFERENCES = ()


def _private_copy(name):
    spec = importlib.util.find_spec(name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _private_copy("course_lib.optim")

HINTS = {
    "Momentum": "v <- momentum * v - lr * g and w <- w + v, with v kept across steps (one "
                "velocity per parameter, created in __init__) and the current self.lr",
    "AdaGrad": "G <- G + g * g, kept across steps (one per parameter), then "
               "w <- w - lr * g / (sqrt(G) + eps), with eps outside the square root",
    "RMSProp": "S <- rho * S + (1 - rho) * g * g, kept across steps (one per parameter), then "
               "w <- w - lr * g / (sqrt(S) + eps), with eps outside the square root",
    "Adam": "m and v are moving averages kept across steps (one pair per parameter); t counts "
            "the calls of step(), starting at 1, once for all the parameters; "
            "m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t), "
            "w <- w - lr * m_hat / (sqrt(v_hat) + eps)",
}
FIRST_STEP_HINT = ("at t = 1 the bias correction makes m_hat = g and v_hat = g * g, so every "
                   "coordinate moves by lr * g / (|g| + eps), about lr")

# The hidden tests' cases: (what, settings, shapes, options), options as in their compare().
COMMON = [
    ("with the default settings", {}, [(3, 4)], {}),
    ("on two parameters of the same shape", dict(lr=0.1), [(4,), (4,)], dict(steps=8)),
    ("with weight decay", dict(lr=0.05, weight_decay=0.1), [(3, 2), (2,)], {}),
    ("when the learning rate drops at step 4", dict(lr=0.05), [(5,)], dict(lr_at={4: 0.005})),
]
ADAPTIVE = [
    ("with gradients of size 1e-6", dict(lr=0.01), [(6,)], dict(scale=1e-6)),
    ("with a large eps", dict(lr=0.1, eps=0.5), [(2, 3)], {}),
    ("where one coordinate always has a zero gradient", dict(lr=0.1), [(3,), (1,)],
     dict(zero_first=True)),
]
FOUR = [(2, 3), (3,), (1,), (2, 1, 2)]
CASES = {
    "Momentum": [
        ("with the default settings", {}, [(3, 4)], {}),
        ("on four parameters", dict(lr=0.05, momentum=0.7), FOUR, {}),
        ("on two parameters of the same shape", dict(lr=0.1, momentum=0.5), [(4,), (4,)],
         dict(steps=8)),
        ("with weight decay", dict(lr=0.05, momentum=0.9, weight_decay=0.1), [(3, 2), (2,)], {}),
        ("when the learning rate drops at step 4", dict(lr=0.05, momentum=0.8), [(5,)],
         dict(lr_at={4: 0.005})),
        ("with momentum 0 (gradient descent)", dict(lr=0.1, momentum=0.0), [(2, 2)],
         dict(steps=3)),
    ],
    "AdaGrad": [*COMMON, ("on four parameters", dict(lr=0.05, eps=1e-6), FOUR, {}), *ADAPTIVE],
    "RMSProp": [*COMMON, ("on four parameters", dict(lr=0.05, rho=0.7), FOUR, {}), *ADAPTIVE,
                ("with rho = 0.99", dict(lr=0.01, rho=0.99), [(2, 2)], {})],
    "Adam": [*COMMON, ("on four parameters", dict(lr=0.05, beta1=0.8, beta2=0.99), FOUR, {}),
             *ADAPTIVE,
             ("with three parameters over 12 steps", dict(lr=0.02, beta1=0.5, beta2=0.9),
              [(2,), (3, 1), (1, 1)], dict(steps=12))],
}


def run_optimizer(ns, start, gradients, *, optimizer, shapes, settings, lr_at):
    """Build ns[optimizer](params, **settings) on parameters of ``shapes`` (values: ``start``,
    flat) and step it once per row of ``gradients`` (every parameter's gradient, flat),
    setting the learning rate to lr at the steps of ``lr_at`` ([step, lr] pairs), with
    course_lib.optim's optimizers disabled. Returns each parameter's change at every step,
    the number of steps after which some value was a new array, and the number of steps
    that modified some .grad."""
    library = __import__("course_lib.optim", fromlist=["Optimizer"])

    def disabled(name):
        def _update(self, *args):
            raise RuntimeError(f"it uses course_lib.optim.{name}, which it is meant to replace: "
                               "write the update yourself")
        return _update

    class Parameter:
        def __init__(self, value, name):
            self.value, self.grad, self.name, self.decay = value, np.zeros_like(value), name, True

    sizes = [int(np.prod(shape)) for shape in shapes]
    ends = np.cumsum(sizes)
    params = [Parameter(piece.reshape(shape).copy(), f"w{k}")
              for k, (piece, shape) in enumerate(zip(np.split(start, ends[:-1]), shapes))]
    arrays = [p.value for p in params]
    rates = {int(t): lr for t, lr in lr_at}
    originals = {cls: vars(cls)["_update"] for cls in vars(library).values()
                 if isinstance(cls, type) and issubclass(cls, library.Optimizer)
                 and cls is not library.Optimizer and "_update" in vars(cls)}
    changes = [[] for _ in params]
    rebound = modified = 0
    for cls in originals:
        cls._update = disabled(cls.__name__)
    try:
        built = ns[optimizer]([*params], **dict(settings))
        for t, row in enumerate(gradients, start=1):
            if t in rates:
                built.lr = rates[t]
            given = [piece.reshape(p.value.shape) for piece, p in zip(np.split(row, ends[:-1]), params)]
            for p, g in zip(params, given):
                p.grad[...] = g
            before = [p.value.copy() for p in params]
            built.step()
            for k, (p, g) in enumerate(zip(params, given)):
                changes[k].append(np.array(p.value, dtype=np.float64) - before[k])
            rebound += any(p.value is not a for p, a in zip(params, arrays))
            modified += not all(np.array_equal(p.grad, g) for p, g in zip(params, given))
    finally:
        for cls, update in originals.items():
            cls._update = update
    return (*(np.array(c) for c in changes), rebound, modified)


def _steps(rng, optimizer, what, settings, shapes, *, steps=6, scale=1.0, lr_at=None,
           zero_first=False, hint=None):
    """A probe of ``optimizer`` stepped ``steps`` times on fresh parameters and gradients
    (standard normal, times ``scale``: a number, or one per coordinate)."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    start = rng.standard_normal(sum(sizes))
    gradients = rng.standard_normal((steps, sum(sizes))) * scale
    if zero_first:
        gradients[:, np.cumsum([0, *sizes[:-1]])] = 0.0
    written = ", ".join(f"{k}={v}" for k, v in settings.items())
    listed = ", ".join(str(s) for s in shapes)
    count = "1 step" if steps == 1 else f"{steps} steps"
    outputs = (*(f"the change of w{k} at each step" for k in range(len(shapes))),
               "the number of steps after which some w.value was a new array (update w in "
               "place: the model holds the original array)",
               "the number of steps that modified some w.grad (leave g as it is: compute into "
               "tmp or a new array)")
    return probe(run_optimizer, {optimizer: getattr(reference, optimizer)}, start, gradients,
                 name=f"{optimizer}({written}) {what}, parameters of shapes {listed}, {count}",
                 outputs=outputs, needs=(optimizer,), rtol=1e-7, atol=1e-13,
                 hint=hint or HINTS[optimizer], optimizer=optimizer,
                 shapes=[list(s) for s in shapes], settings=[[k, v] for k, v in settings.items()],
                 lr_at=[[t, lr] for t, lr in (lr_at or {}).items()])


def parts(rng):
    checks = {name: [_steps(rng, name, what, settings, shapes, **options)
                     for what, settings, shapes, options in cases]
              for name, cases in CASES.items()}
    # The bias correction: the first step moves each coordinate by lr * g / (|g| + eps).
    checks["Adam"] += [
        _steps(rng, "Adam", "at its first step (t = 1), gradients from 1e-3 to 10 in size", settings,
               [shape], steps=1, scale=np.geomspace(1e-3, 10, int(np.prod(shape))),
               hint=FIRST_STEP_HINT)
        for settings, shape in [({}, (4,)), (dict(lr=0.1, beta1=0.5, beta2=0.75, eps=1e-3), (2, 3))]]
    return {f"test_{name.lower()}": calls for name, calls in checks.items()}
