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
layer's forward, course_lib.nn), whose dropout it is meant to replace: the calls the hidden
tests' check_not_calling watches are watched; and on any warning. course_lib.layers cannot be
hidden from the child: course_lib.nn, which the setup imports, needs it.
"""
import numpy as np

from course_lib import layers as reference
from course_lib import nn
from course_lib.gradcheck import numerical_gradient

from ..verify import probe, substitute, unwatched

SETUP = ("setup",)
REFERENCES = ()
LAYERS_CODE, LAYER_CODE = ("course_lib.layers",), ("course_lib.nn", "course_lib.layers")  # watched

SHAPES = [(4, 3), (1, 5), (7,), (2, 3, 2), (1, 1), (3, 10)]
TRAIN_HINT = ("draw one rng.random(x.shape), keep where it is >= p, scale the kept entries "
              "by 1 / (1 - p), and draw a new mask from rng at every call")
EVAL_HINT = "in evaluation mode inverted dropout is the identity: no mask and no scaling by 1 - p"
BACKWARD_HINT = "dx = dout * mask, with the scaled mask (entries 0 and 1 / (1 - p)) from the cache"
LAYER_HINT = ("create the generator once, in __init__, from seed, and pass it and self.training "
              "to dropout_forward at every forward pass; backward uses the cache of the last "
              "forward pass")
UNCHANGED_HINT = "compute a new array instead of modifying an argument in place"
FUNCTIONS = {"dropout_forward": reference.dropout_forward, "dropout_backward": reference.dropout_backward}


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


def run_layer(ns, x1, x2, x3, dout, *, p, seed, passes):
    """Dropout(p, seed=seed), with numpy dropout functions in place of the notebook's:
    forward on x1, x2, x3 in training mode, backward(dout), then (after eval()) forward on x1
    twice and backward(dout); with ``passes``, the average of that many forwards of x1 by a
    new Dropout(p, seed=seed + 1). Only the training forwards are watched, as in the hidden
    tests (a layer's construction and eval() may run course_lib.nn's Module)."""
    def dropout_forward(x, p, train, rng):
        if not train or p == 0.0:
            return x, None
        mask = (rng.random(x.shape) >= p) / (1.0 - p)
        return x * mask, mask

    def dropout_backward(dout, cache):
        return dout if cache is None else dout * cache

    def after_training(layer):
        back = layer.backward(dout)
        layer.eval()
        evaluated = [layer.forward(x1) for _ in range(2)]
        back_eval = layer.backward(dout)
        average = []
        if passes:
            averaged = ns["Dropout"](p, seed=seed + 1)
            average.append(np.mean([averaged.forward(x1) for _ in range(passes)], axis=0))
        return (back, *evaluated, back_eval, *average)

    with substitute(ns, dropout_forward=dropout_forward, dropout_backward=dropout_backward):
        layer = unwatched(ns["Dropout"])(p, seed=seed)
        outs = [layer.forward(x) for x in (x1, x2, x3)]
        rest = unwatched(after_training)(layer)
    return (*outs, *rest)


def _seed(rng):
    return int(rng.integers(2**32))


def _forward_train(rng, x, p, calls=2, hint=TRAIN_HINT, what=None, watch=()):
    what = what or f"x of shape {x.shape}"
    outputs = ("out of the first call", "out of the second call (a new mask from the same "
               "generator)")[:calls]
    return probe(run_forward_train, FUNCTIONS, x, name=f"dropout_forward(x, p={p}, train=True, "
                 f"rng) for {what}", outputs=outputs, needs=("dropout_forward",),
                 unchanged=True, hint=hint, watch=watch, p=p, seed=_seed(rng), calls=calls)


def _forward_eval(rng, x, p, watch=()):
    return probe(run_forward_eval, FUNCTIONS, x, name=f"dropout_forward(x, p={p}, train=False, "
                 f"rng) for x of shape {x.shape}", outputs=("out", "1 if the cache is not None "
                 "(in evaluation mode there is no mask: return None)"), needs=("dropout_forward",),
                 unchanged=True, rtol=0.0, atol=0.0, hint=EVAL_HINT, watch=watch, p=p, seed=_seed(rng))


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


def _not_calling(rng, part, train=True):
    """The call of ``part`` that the hidden tests' check_not_calling watches, watched for
    running course_lib.layers."""
    x = rng.standard_normal((3, 4))
    if part == "dropout_backward":
        return probe(run_backward, FUNCTIONS, x, np.ones_like(x), outputs=("dx",), needs=(part,),
                     name="dropout_backward(dout, mask) for a mask of ones of shape (3, 4)",
                     hint=BACKWARD_HINT, watch=LAYERS_CODE)
    if train:
        return _forward_train(rng, x, 0.5, calls=1, watch=LAYERS_CODE)
    return _forward_eval(rng, x, 0.5, watch=LAYERS_CODE)


def _layer(rng, shape, p, passes=0):
    xs = [rng.standard_normal(shape) for _ in range(3)]
    seed = _seed(rng)
    average = (f"the average of {passes} forward passes of x1 in training mode, by a new layer "
               "(the expected output is kept)",) if passes else ()
    outputs = (*(f"forward pass {k} in training mode" for k in (1, 2, 3)),
               "backward after the three forward passes", "forward in evaluation mode",
               "forward in evaluation mode, again", "backward in evaluation mode", *average)
    return probe(run_layer, {"Dropout": nn.Dropout}, *xs, rng.standard_normal(shape),
                 name=f"Dropout({p}, seed={seed}) on x1, x2, x3 of shape {shape}", outputs=outputs,
                 needs=("Dropout",), hint=LAYER_HINT, watch=LAYER_CODE, p=p, seed=seed, passes=passes)


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
        "test_forward_train": [*train, _not_calling(rng, "dropout_forward")],
        "test_forward_eval": [*(_forward_eval(rng, rng.standard_normal(shape), p)
                                for shape in SHAPES for p in (0.0, 0.3, 0.5, 0.9)),
                              _not_calling(rng, "dropout_forward", train=False)],
        "test_backward": [*(_backward(rng, shape, p) for shape in SHAPES for p in (0.2, 0.5, 0.8)),
                          *(_backward_eval(rng, shape) for shape in SHAPES),
                          _not_calling(rng, "dropout_backward")],
        "test_dropout_layer": [
            *(_layer(rng, shape, p) for shape, p in
              [((4, 3), 0.5), ((1, 8), 0.2), ((5, 2), 0.8), ((3, 3, 2), 0.5)]),
            _layer(rng, (10,), 0.5, passes=4000),
        ],
    }
