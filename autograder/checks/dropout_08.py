"""Verification of 08-dropout: the behaviours the hidden tests check, on fresh inputs.

The masks are random, so the child gets seeds, as the hidden tests' generators are seeded:
each probe makes ``np.random.default_rng(seed)`` there and passes it to the notebook's code,
and the parent runs the reference with a generator of the same seed. The masks must then be
the reference's exactly (one ``rng.random(x.shape)``, kept where ``>= p``), which implies the
hidden tests' statistics (the fraction dropped, the kept values 1 / (1 - p), the layer's
average over many passes); those are checked as the same exact comparisons on their inputs.

- dropout_forward, training: two calls with one generator (a new mask each time), the hidden
  tests' shapes and rates, p = 0, a 200 x 300 input of ones; the input left unchanged;
- dropout_forward, evaluation: exactly the identity with the cache None, for p = 0 to 0.9;
- dropout_backward: against the reference and against centered differences of the reference
  forward with the mask held fixed, and in evaluation mode; its arguments left unchanged;
- Dropout: three training forwards from one seed, the backward after them, evaluation mode,
  and the average of 4000 forwards, with the reference functions in place of the notebook's
  (a mistake in parts 1 to 3 costs no points here).
Each part fails, as in the hidden tests, if the code calls course_lib.layers (or, for the
layer's forward, course_lib.nn), whose dropout it is meant to replace; and on any warning.
course_lib.layers cannot be hidden from the child: course_lib.nn, which the setup imports,
needs it.
"""
import functools
import sys

import numpy as np

from course_lib import layers as reference
from course_lib import nn
from course_lib.gradcheck import numerical_gradient

from ..verify import probe

SETUP = ("setup",)
REFERENCES = ()

SHAPES = [(4, 3), (1, 5), (7,), (2, 3, 2), (1, 1), (3, 10)]
TRAIN_HINT = ("draw one rng.random(x.shape), keep where it is >= p, scale the kept entries "
              "by 1 / (1 - p), and draw a new mask from rng at every call")
EVAL_HINT = "in evaluation mode inverted dropout is the identity: no mask and no scaling by 1 - p"
BACKWARD_HINT = "dx = dout * mask, with the scaled mask (entries 0 and 1 / (1 - p)) from the cache"
LAYER_HINT = ("create the generator once, in __init__, from seed, and pass it and self.training "
              "to dropout_forward at every forward pass; backward uses the cache of the last "
              "forward pass")
UNCHANGED_HINT = "compute a new array instead of modifying an argument in place"
CALLS = "the number of course_lib functions it calls (none: write the computation yourself)"


def _unobserved(function):
    """``function`` with the probes' watch on course_lib paused while it runs: the reference
    is course_lib, and only the notebook's own calls of it count."""
    @functools.wraps(function)
    def run(*args, **kwargs):
        previous = sys.getprofile()
        sys.setprofile(None)
        try:
            return function(*args, **kwargs)
        finally:
            sys.setprofile(previous)
    return run


class _ReferenceLayer(nn.Dropout):
    """course_lib's layer, its forward unobserved."""
    forward = _unobserved(nn.Dropout.forward)


FUNCTIONS = {"dropout_forward": _unobserved(reference.dropout_forward),
             "dropout_backward": _unobserved(reference.dropout_backward)}


def run_forward_train(ns, x, *, p, seed, calls):
    """out of ``calls`` successive calls dropout_forward(x, p, True, rng), with one Generator
    made from ``seed``."""
    rng = np.random.default_rng(seed)
    return tuple(ns["dropout_forward"](x, p, True, rng)[0] for _ in range(calls))


def run_forward_eval(ns, x, *, p, seed):
    """out of dropout_forward(x, p, False, rng), and 1 if its cache is not None."""
    out, cache = ns["dropout_forward"](x, p, False, np.random.default_rng(seed))
    return out, float(cache is not None)


def run_backward(ns, dout, *mask_and_x):
    """dropout_backward(dout, mask), or (without a mask) dropout_backward(dout, None); x, the
    forward's input, is for the finite differences only."""
    return ns["dropout_backward"](dout, mask_and_x[0] if mask_and_x else None)


def count_course_lib_calls(ns, x, *, part, train, seed):
    """How many functions of course_lib.layers the notebook's ``part`` calls (directly,
    under any name), as the hidden tests' check_not_calling counts them: for dropout_forward
    called in training or evaluation mode on x, for dropout_backward called on (x, a mask of
    ones)."""
    sys = __import__("sys")
    library = __import__("course_lib.layers", fromlist=["dropout_forward"])
    used = set()

    def record(frame, event, arg):
        if event == "call" and frame.f_code.co_filename == library.__file__:
            caller = frame.f_back
            if caller is None or caller.f_code.co_filename != library.__file__:
                used.add(frame.f_code.co_name)

    previous = sys.getprofile()
    sys.setprofile(record)
    try:
        if part == "dropout_forward":
            ns["dropout_forward"](x, 0.5, train, np.random.default_rng(seed))
        else:
            ns["dropout_backward"](x, np.ones_like(x))
    finally:
        sys.setprofile(previous)
    return len(used)


def run_layer(ns, x1, x2, x3, dout, *, p, seed, passes):
    """Dropout(p, seed=seed), with course_lib's dropout functions in place of the notebook's:
    forward on x1, x2, x3 in training mode, backward(dout), then (after eval()) forward on x1
    twice and backward(dout); with ``passes``, the average of that many forwards of x1 by a
    new Dropout(p, seed=seed + 1). Last, how many functions of course_lib.nn the training
    forwards call and of course_lib.layers a new layer's forward calls, as the hidden tests
    count them."""
    sys = __import__("sys")
    libraries = [__import__(name, fromlist=["_"]) for name in ("course_lib.nn", "course_lib.layers")]

    def dropout_forward(x, p, train, rng):
        if not train or p == 0.0:
            return x, None
        mask = (rng.random(x.shape) >= p) / (1.0 - p)
        return x * mask, mask

    def dropout_backward(dout, cache):
        return dout if cache is None else dout * cache

    def calls_into(library, run):
        used = set()

        def record(frame, event, arg):
            if event == "call" and frame.f_code.co_filename == library.__file__:
                caller = frame.f_back
                if caller is None or caller.f_code.co_filename != library.__file__:
                    used.add(frame.f_code.co_name)

        previous = sys.getprofile()
        sys.setprofile(record)
        try:
            result = run()
        finally:
            sys.setprofile(previous)
        return result, len(used)

    absent = object()
    saved = {name: ns.get(name, absent) for name in ("dropout_forward", "dropout_backward")}
    ns.update(dropout_forward=dropout_forward, dropout_backward=dropout_backward)
    try:
        layer = ns["Dropout"](p, seed=seed)
        outs, nn_calls = calls_into(libraries[0], lambda: [layer.forward(x) for x in (x1, x2, x3)])
        back = layer.backward(dout)
        layer.eval()
        evaluated = [layer.forward(x1) for _ in range(2)]
        back_eval = layer.backward(dout)
        _, layers_calls = calls_into(libraries[1], lambda: ns["Dropout"](p, seed=0).forward(x1))
        average = []
        if passes:
            averaged = ns["Dropout"](p, seed=seed + 1)
            average.append(np.mean([averaged.forward(x1) for _ in range(passes)], axis=0))
    finally:
        for name, value in saved.items():
            if value is absent:
                ns.pop(name, None)
            else:
                ns[name] = value
    return (*outs, back, *evaluated, back_eval, *average, nn_calls + layers_calls)


def _seed(rng):
    return int(rng.integers(2**32))


def _forward_train(rng, x, p, calls=2, hint=TRAIN_HINT, what=None):
    what = what or f"x of shape {x.shape}"
    outputs = ("out of the first call", "out of the second call (a new mask from the same "
               "generator)")[:calls]
    return probe(run_forward_train, FUNCTIONS, x, name=f"dropout_forward(x, p={p}, train=True, "
                 f"rng) for {what}", outputs=outputs, needs=("dropout_forward",),
                 unchanged=True, hint=hint, p=p, seed=_seed(rng), calls=calls)


def _forward_eval(rng, x, p):
    return probe(run_forward_eval, FUNCTIONS, x, name=f"dropout_forward(x, p={p}, train=False, "
                 f"rng) for x of shape {x.shape}", outputs=("out", "1 if the cache is not None "
                 "(in evaluation mode there is no mask: return None)"), needs=("dropout_forward",),
                 unchanged=True, rtol=0.0, atol=0.0, hint=EVAL_HINT, p=p, seed=_seed(rng))


def _backward(rng, shape, p):
    x, dout = rng.standard_normal(shape), rng.standard_normal(shape)
    _, mask = reference.dropout_forward(x, p, True, np.random.default_rng(_seed(rng)))

    def numerical(dout, mask, x):
        replay = lambda z: np.sum(reference.dropout_forward(z, p, True, mask=mask)[0] * dout)
        return (numerical_gradient(replay, x),)

    return probe(run_backward, FUNCTIONS, dout, mask, x, name=f"dropout_backward(dout, mask) "
                 f"for x of shape {shape} and p = {p}", outputs=("dx",),
                 needs=("dropout_backward",), numerical=numerical, unchanged=True,
                 hint=BACKWARD_HINT)


def _backward_eval(rng, shape):
    return probe(run_backward, FUNCTIONS, rng.standard_normal(shape),
                 name=f"dropout_backward(dout, None) (evaluation mode) for dout of shape {shape}",
                 outputs=("dx",), needs=("dropout_backward",), unchanged=True,
                 hint="in evaluation mode the layer is the identity, and so is its backward")


def _course_lib_calls(rng, part, train=True):
    what = f"dropout_forward(x, 0.5, train={train}, rng)" if part == "dropout_forward" \
        else "dropout_backward(dout, mask)"
    return probe(count_course_lib_calls, FUNCTIONS, rng.standard_normal((3, 4)),
                 name=f"{what} for x of shape (3, 4)", outputs=(CALLS,), needs=(part,), part=part,
                 train=train, seed=_seed(rng))


def _layer(rng, shape, p, passes=0):
    xs = [rng.standard_normal(shape) for _ in range(3)]
    seed = _seed(rng)
    average = (f"the average of {passes} forward passes of x1 in training mode, by a new layer "
               "(the expected output is kept)",) if passes else ()
    outputs = (*(f"forward pass {k} in training mode" for k in (1, 2, 3)),
               "backward after the three forward passes", "forward in evaluation mode",
               "forward in evaluation mode, again", "backward in evaluation mode", *average,
               CALLS)
    return probe(run_layer, {"Dropout": _ReferenceLayer}, *xs, rng.standard_normal(shape),
                 name=f"Dropout({p}, seed={seed}) on x1, x2, x3 of shape {shape}", outputs=outputs,
                 needs=("Dropout",), hint=LAYER_HINT, p=p, seed=seed, passes=passes)


def parts(rng):
    train = [_forward_train(rng, rng.standard_normal(shape), p)
             for shape in SHAPES for p in (0.2, 0.5, 0.8)]
    train.append(_forward_train(rng, rng.standard_normal((3, 4)), 0.0, calls=1,
                                hint="with p = 0 nothing is dropped"))
    # The hidden tests' statistics: the fraction dropped, the kept values 1 / (1 - p).
    train += [_forward_train(rng, np.ones((200, 300)), p, calls=1, what="x = ones((200, 300))",
                             hint="p is the probability of dropping a unit, not of keeping it; "
                                  "inverted dropout scales the kept units by 1 / (1 - p)")
              for p in (0.1, 0.5, 0.9)]
    return {
        "test_forward_train": [*train, _course_lib_calls(rng, "dropout_forward")],
        "test_forward_eval": [*(_forward_eval(rng, rng.standard_normal(shape), p)
                                for shape in SHAPES for p in (0.0, 0.3, 0.5, 0.9)),
                              _course_lib_calls(rng, "dropout_forward", train=False)],
        "test_backward": [*(_backward(rng, shape, p) for shape in SHAPES for p in (0.2, 0.5, 0.8)),
                          *(_backward_eval(rng, shape) for shape in SHAPES),
                          _course_lib_calls(rng, "dropout_backward")],
        "test_dropout_layer": [
            *(_layer(rng, shape, p) for shape, p in
              [((4, 3), 0.5), ((1, 8), 0.2), ((5, 2), 0.8), ((3, 3, 2), 0.5)]),
            _layer(rng, (10,), 0.5, passes=4000),
        ],
    }
