"""Plots the course draws again and again: decision regions, learning curves, per-layer
histograms and 1-D function fits.

Each function draws on the Axes ``ax`` it is given or, when ``ax`` is None, on a new figure,
and returns what it drew on (the Axes, or the Figure when it draws several panels), so that a
caller can add titles or save it. Nothing is shown: notebooks display figures by themselves
and scripts call ``plt.show()`` or ``fig.savefig``.

Colours come from the Okabe & Ito palette, which stays distinguishable for the common forms of
colour blindness; classes also get different marker shapes, and ordered things (layers from
input to output) a sequential colour map, so no plot relies on hue alone.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap, ListedColormap, to_rgba
from matplotlib.ticker import MaxNLocator

from .activations import sigmoid, softmax
from .nn import Module
from ._validation import ShapeError, as_float_array

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LABEL_SIZE, TITLE_SIZE = 12, 13


def _new_axes(ax, figsize=(5.5, 4.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _decorate(ax, xlabel: str, ylabel: str, title: str | None) -> None:
    ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    if title:
        ax.set_title(title, fontsize=TITLE_SIZE)


# --- decision regions ------------------------------------------------------------------------

def _module_scores(model: Module, points: np.ndarray) -> np.ndarray:
    was_training = model.training
    model.eval()
    try:
        return model.forward(points)
    finally:
        model.train(was_training)


def _predict_classes(model, points: np.ndarray) -> np.ndarray:
    if isinstance(model, Module):
        scores = _module_scores(model, points)
        if scores.ndim == 2 and scores.shape[1] > 1:
            return scores.argmax(axis=1)
        return (scores.reshape(-1) > 0).astype(np.intp)  # one logit: class 1 when positive
    predict = model.predict if hasattr(model, "predict") else model
    return np.asarray(predict(points)).reshape(len(points))


def _predict_probability(model, points: np.ndarray) -> np.ndarray:
    if isinstance(model, Module):
        scores = _module_scores(model, points)
        probs = softmax(scores) if scores.ndim == 2 and scores.shape[1] > 1 else sigmoid(scores)
    elif hasattr(model, "predict"):
        if not hasattr(model, "predict_proba"):
            raise TypeError(f"{type(model).__name__} has no predict_proba: use show='class'")
        probs = np.asarray(model.predict_proba(points))
    else:
        probs = np.asarray(model(points))
    if probs.ndim == 2 and probs.shape[1] == 2:
        probs = probs[:, 1]
    if probs.size != len(points):
        raise ValueError(f"show='probability' needs a binary classifier, but the model gives "
                         f"outputs of shape {probs.shape} for {len(points)} points")
    return probs.reshape(len(points))


def decision_boundary(model, X, y, *, ax=None, resolution: int = 200, show: str = "class",
                      title: str | None = "Decision regions"):
    """Colour the plane by the model's prediction and scatter the data on top.

    - ``model``: a ``course_lib.nn`` module (its scores, computed in eval mode: the class is
      the arg-max, or "score > 0" for a single logit); an estimator with ``predict`` (and
      ``predict_proba`` for ``show="probability"``), such as ``neuron.Perceptron``; or a
      function from points (M, 2) to class labels (M,) (to P(class 1) (M,) for probability).
    - ``X`` (N, 2), ``y`` (N,) integer labels. The grid covers the data plus 10% margins with
      ``resolution`` x ``resolution`` points.
    - ``show="class"`` paints each predicted class in a light version of its points' colour;
      ``show="probability"`` (binary models) shades P(class 1) and draws the 0.5 contour.
    The prediction image is ``ax.images[0]``: row i, column j holds the prediction at that
    pixel's centre (origin at the bottom left), as the class's index among the sorted classes
    of ``y`` and the predictions, or as P(class 1). Returns the Axes.
    """
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] != 2:
        raise ShapeError(f"decision_boundary draws 2-D inputs: X must be (N, 2), got {X.shape}")
    y = np.asarray(y).reshape(-1)
    if len(y) != len(X):
        raise ShapeError(f"X has {len(X)} points but y has {len(y)} labels")
    if show not in ("class", "probability"):
        raise ValueError(f"show must be 'class' or 'probability', got {show!r}")
    ax = _new_axes(ax)

    low, high = X.min(axis=0), X.max(axis=0)
    margin = 0.1 * np.where(high > low, high - low, 1.0)
    low, high = low - margin, high + margin
    # One prediction per pixel, taken at the pixel's centre, so the image is not shifted.
    x1, x2 = (lo + (hi - lo) * (np.arange(resolution) + 0.5) / resolution
              for lo, hi in zip(low, high))
    grid = np.stack(np.meshgrid(x1, x2), axis=-1).reshape(-1, 2)
    extent = (low[0], high[0], low[1], high[1])

    if show == "class":
        predicted = _predict_classes(model, grid)
        classes = np.union1d(np.unique(y), np.unique(predicted))
        light = [_lighten(OKABE_ITO[k % len(OKABE_ITO)]) for k in range(len(classes))]
        region = np.searchsorted(classes, predicted).reshape(resolution, resolution)
        ax.imshow(region, extent=extent, origin="lower", aspect="auto", interpolation="nearest",
                  cmap=ListedColormap(light), vmin=-0.5, vmax=len(classes) - 0.5)
    else:
        classes = np.unique(y)
        prob = _predict_probability(model, grid).reshape(resolution, resolution)
        cmap = LinearSegmentedColormap.from_list("two_classes",
                                                 [OKABE_ITO[0], "white", OKABE_ITO[1]])
        image = ax.imshow(prob, extent=extent, origin="lower", aspect="auto", cmap=cmap,
                          vmin=0.0, vmax=1.0, alpha=0.6)
        if prob.min() < 0.5 < prob.max():
            ax.contour(x1, x2, prob, levels=[0.5], colors="black", linewidths=1.5)
        ax.figure.colorbar(image, ax=ax, label="P(class 1)")

    for k, c in enumerate(classes):
        members = y == c
        if members.any():
            ax.scatter(X[members, 0], X[members, 1], s=25, c=OKABE_ITO[k % len(OKABE_ITO)],
                       marker=MARKERS[k % len(MARKERS)], edgecolors="black", linewidths=0.5,
                       label=f"class {c}")
    _decorate(ax, "$x_1$", "$x_2$", title)
    ax.legend(loc="best", framealpha=0.8)
    return ax


def _lighten(colour: str, amount: float = 0.65):
    """Blend ``colour`` with white, so that regions stay behind the points drawn on them."""
    rgb = np.array(to_rgba(colour)[:3])
    return tuple(rgb + amount * (1.0 - rgb))


# --- training curves -------------------------------------------------------------------------

def learning_curves(history, metrics=("loss", "accuracy"), *, ax=None):
    """Training and validation curves against the epoch, one panel per metric.

    ``history`` is a ``training.History`` (or a dict) with columns "epoch", "train_<metric>"
    and "val_<metric>" (may be empty) and optionally "best_epoch", marked by a dotted line.
    ``ax`` is one Axes per metric (a single Axes for a single metric) or None for a new figure.
    Returns the Axes for one metric, the Figure for several.
    """
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    if ax is None:
        fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4),
                                 layout="constrained", squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(np.ravel(ax))
        if len(axes) != len(metrics):
            raise ValueError(f"got {len(axes)} Axes for {len(metrics)} metrics")
        fig = axes[0].figure
    best = _column(history, "best_epoch", None)

    for panel, metric in zip(axes, metrics):
        drawn = 0
        for split, name, colour, style in (("train", "training", OKABE_ITO[0], "-"),
                                           ("val", "validation", OKABE_ITO[1], "--")):
            values = list(_column(history, f"{split}_{metric}", []))
            if values and all(v is not None for v in values):
                epochs = list(_column(history, "epoch", [])) or range(1, len(values) + 1)
                panel.plot(epochs, values, style, color=colour, lw=2, label=name)
                drawn += 1
        if not drawn:
            raise ValueError(f"history has no values for {metric!r} (accuracy is None when "
                             f"training a regression loss)")
        if best is not None:
            panel.axvline(best, color="grey", ls=":", lw=1.5, label=f"best epoch ({best})")
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
        _decorate(panel, "epoch", metric, metric.capitalize())
        panel.legend(loc="best")
    return axes[0] if len(axes) == 1 else fig


def _column(history, name: str, default):
    try:
        value = history[name]
    except (KeyError, AttributeError):
        return default
    return default if value is None else value


# --- inside the network ----------------------------------------------------------------------

_KIND_LABELS = {"activations": ("activation value", "Activations per layer"),
                "gradients": ("back-propagated gradient $\\partial L / \\partial a$",
                              "Back-propagated gradients per layer"),
                "weight_gradients": ("weight gradient $\\partial L / \\partial W$",
                                     "Weight gradients per layer")}


def layer_histograms(trace, kind: str = "activations", *, ax=None, bins: int = 60):
    """Overlaid normalized histograms of one quantity, one curve per hidden layer.

    ``trace`` is a ``diagnostics.LayerTrace``; ``kind`` is "activations", "gradients"
    (dL/d pre-activation) or "weight_gradients". All layers share the same bins, so widths can
    be compared as in Glorot & Bengio (2010), Figures 3 to 7; colours run from dark (layer 1,
    next to the input) to light (the last hidden layer). Returns the Axes.
    """
    arrays = [np.ravel(a) for a in trace.values(kind)]
    xlabel, title = _KIND_LABELS[kind]
    ax = _new_axes(ax, figsize=(6, 4.5))
    edges = np.histogram_bin_edges(np.concatenate(arrays), bins=bins)
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(arrays)))
    for values, name, colour in zip(arrays, trace.names, colours):
        ax.hist(values, bins=edges, density=True, histtype="step", lw=2, color=colour,
                label=name)
    _decorate(ax, xlabel, "density", title)
    ax.legend(loc="best")
    return ax


# --- function approximation ------------------------------------------------------------------

def function_fit(x, y_true, y_pred, *, x_train=None, y_train=None, ax=None,
                 title: str | None = "Function fit"):
    """A 1-D target, the training points, and one or more fitted functions.

    ``x`` (M,) or (M, 1) are the points where ``y_true`` (M,) and the fits are evaluated;
    ``y_pred`` is one array (M,) or a dict {label: (M,)} (say one fit per hidden width).
    ``x_train``, ``y_train`` (N,) are scattered if given. Returns the Axes.
    """
    x = as_float_array(x, "x", ndim=(1, 2)).reshape(-1)
    order = np.argsort(x)

    def curve(values, name):
        values = as_float_array(values, name).reshape(-1)
        if values.size != x.size:
            raise ShapeError(f"{name} has {values.size} values for {x.size} points x")
        return values[order]

    ax = _new_axes(ax)
    ax.plot(x[order], curve(y_true, "y_true"), color="black", lw=2.5, label="target")
    fits = y_pred if isinstance(y_pred, dict) else {"fit": y_pred}
    styles = ["--", "-.", ":", "-"]
    for k, (label, values) in enumerate(fits.items()):
        ax.plot(x[order], curve(values, f"y_pred[{label!r}]"), styles[k % len(styles)], lw=2,
                color=OKABE_ITO[k % len(OKABE_ITO)], label=str(label))
    if x_train is not None:
        x_train = as_float_array(x_train, "x_train", ndim=(1, 2)).reshape(-1)
        y_train = as_float_array(y_train, "y_train").reshape(-1)
        if x_train.size != y_train.size:
            raise ShapeError(f"x_train has {x_train.size} points but y_train {y_train.size}")
        ax.scatter(x_train, y_train, s=18, color="grey", edgecolors="black", linewidths=0.4,
                   zorder=3, label="training data")
    _decorate(ax, "$x$", "$y$", title)
    ax.legend(loc="best")
    return ax
