"""Plots: each function draws what it promises, on the Axes it was given or a new one."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from course_lib import nn, plots  # noqa: E402
from course_lib._validation import ShapeError  # noqa: E402
from course_lib.activations import sigmoid  # noqa: E402
from course_lib.diagnostics import trace  # noqa: E402
from course_lib.neuron import Perceptron  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def blobs(n=80, seed=0):
    X = np.random.default_rng(seed).uniform(-2, 2, (n, 2))
    return X, (X[:, 0] > 2 * X[:, 1]).astype(int)


def pixel_centres(image):
    """The (rows, cols, 2) coordinates of the pixel centres of an imshow image."""
    rows, cols = image.get_array().shape
    left, right, bottom, top = image.get_extent()
    xs = left + (right - left) * (np.arange(cols) + 0.5) / cols
    ys = bottom + (top - bottom) * (np.arange(rows) + 0.5) / rows
    return np.stack(np.meshgrid(xs, ys), axis=-1)


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


# --- decision_boundary -----------------------------------------------------------------------

def test_decision_regions_follow_a_known_linear_rule():
    X, y = blobs()
    rule = lambda P: (P[:, 0] > 2 * P[:, 1]).astype(int)  # noqa: E731
    ax = plots.decision_boundary(rule, X, y, resolution=50)
    image = ax.images[0]
    region = np.asarray(image.get_array())
    assert region.shape == (50, 50)
    np.testing.assert_array_equal(region, rule(pixel_centres(image).reshape(-1, 2)).reshape(50, 50))
    assert 0.2 < region.mean() < 0.8  # both classes are on screen
    # The grid covers the data with a margin.
    left, right, bottom, top = image.get_extent()
    assert left < X[:, 0].min() and right > X[:, 0].max()
    assert bottom < X[:, 1].min() and top > X[:, 1].max()

    # Each region is painted in a light version of its class's point colour.
    points = {text: collection.get_facecolor()[0][:3] for text, collection
              in zip(legend_texts(ax), ax.collections)}
    assert set(points) == {"class 0", "class 1"}
    rgba = image.to_rgba(region)
    for k in (0, 1):
        paint = rgba[region == k][0][:3]
        own, other = (np.abs(paint - points[f"class {c}"]).sum() for c in (k, 1 - k))
        assert own < other
        assert np.all(paint >= points[f"class {k}"])  # lighter, not darker
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_decision_regions_of_a_module_use_eval_mode_and_restore_it():
    X, y = blobs(seed=1)
    model = nn.mlp([2, 16, 3], "relu", dropout=0.5, seed=0)
    ax = plots.decision_boundary(model, X, y, resolution=40)
    assert model.training
    image = ax.images[0]
    model.eval()
    want = model.forward(pixel_centres(image).reshape(-1, 2)).argmax(axis=1).reshape(40, 40)
    np.testing.assert_array_equal(image.get_array(), want)


def test_one_logit_module_and_estimator():
    X, y = blobs(seed=2)
    linear = nn.Linear(2, 1)
    linear.W.value[:] = [[1.0], [-2.0]]
    ax = plots.decision_boundary(linear, X, y, resolution=30)
    centres = pixel_centres(ax.images[0]).reshape(-1, 2)
    np.testing.assert_array_equal(ax.images[0].get_array().ravel(),
                                  (centres[:, 0] - 2 * centres[:, 1] > 0).astype(int))
    perceptron = Perceptron(seed=0).fit(X, y)
    ax = plots.decision_boundary(perceptron, X, y, resolution=30)
    np.testing.assert_array_equal(ax.images[0].get_array().ravel(), perceptron.predict(centres))


def test_probability_view():
    X, y = blobs(seed=3)
    proba = lambda P: sigmoid(3 * (P[:, 0] - 2 * P[:, 1]))  # noqa: E731
    ax = plots.decision_boundary(proba, X, y, resolution=40, show="probability")
    image = ax.images[0]
    np.testing.assert_allclose(image.get_array(),
                               proba(pixel_centres(image).reshape(-1, 2)).reshape(40, 40))
    assert len(ax.figure.axes) == 2  # the plot and its colour bar
    assert len(legend_texts(ax)) == 2
    with pytest.raises(TypeError, match="predict_proba"):
        plots.decision_boundary(Perceptron().fit(X, y), X, y, show="probability")
    with pytest.raises(ValueError, match="binary"):
        plots.decision_boundary(nn.mlp([2, 4, 3], seed=0), X, y, show="probability")


def test_decision_boundary_draws_on_the_given_axes_and_checks_inputs():
    X, y = blobs()
    _, ax = plt.subplots()
    assert plots.decision_boundary(lambda P: P[:, 0] > 0, X, y, ax=ax, resolution=10) is ax
    with pytest.raises(ShapeError, match=r"\(N, 2\)"):
        plots.decision_boundary(lambda P: P[:, 0] > 0, np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ShapeError, match="labels"):
        plots.decision_boundary(lambda P: P[:, 0] > 0, X, y[:-1])
    with pytest.raises(ValueError, match="show"):
        plots.decision_boundary(lambda P: P[:, 0] > 0, X, y, show="regions")


# --- learning_curves -------------------------------------------------------------------------

HISTORY = {"epoch": [1, 2, 3, 4], "train_loss": [1.0, 0.8, 0.6, 0.5],
           "val_loss": [1.1, 0.9, 0.8, 0.85], "train_accuracy": [0.5, 0.6, 0.7, 0.8],
           "val_accuracy": [0.5, 0.55, 0.6, 0.58], "best_epoch": 3}


def test_learning_curves_two_panels():
    fig = plots.learning_curves(HISTORY)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 2
    for ax, metric in zip(fig.axes, ("loss", "accuracy")):
        train, val, best = ax.get_lines()
        np.testing.assert_array_equal(train.get_xdata(), HISTORY["epoch"])
        np.testing.assert_array_equal(train.get_ydata(), HISTORY[f"train_{metric}"])
        np.testing.assert_array_equal(val.get_ydata(), HISTORY[f"val_{metric}"])
        np.testing.assert_array_equal(best.get_xdata(), [3, 3])
        assert legend_texts(ax) == ["training", "validation", "best epoch (3)"]
        assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == metric


def test_learning_curves_one_metric_without_validation_on_given_axes():
    history = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "val_loss": [],
               "train_accuracy": [None, None], "val_accuracy": []}
    _, ax = plt.subplots()
    assert plots.learning_curves(history, "loss", ax=ax) is ax
    assert len(ax.get_lines()) == 1 and legend_texts(ax) == ["training"]
    with pytest.raises(ValueError, match="accuracy"):
        plots.learning_curves(history)
    with pytest.raises(ValueError, match="2 metrics"):
        plots.learning_curves(HISTORY, ax=ax)


def test_learning_curves_of_a_training_history():
    training = pytest.importorskip("course_lib.training")
    history = training.History(epoch=[1, 2, 3], train_loss=[3, 2, 1], val_loss=[3, 2.5, 2.6],
                               train_accuracy=[0.1, 0.2, 0.3], val_accuracy=[0.1, 0.2, 0.2],
                               best_epoch=2)
    fig = plots.learning_curves(history)
    assert [len(ax.get_lines()) for ax in fig.axes] == [3, 3]


# --- layer_histograms ------------------------------------------------------------------------

@pytest.fixture
def record():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((100, 5)), rng.integers(0, 3, 100)
    return trace(nn.mlp([5, 12, 10, 8, 3], "tanh", seed=0), X, y)


def polygon_area(xy):
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(x @ np.roll(y, 1) - y @ np.roll(x, 1))


@pytest.mark.parametrize("kind", ["activations", "gradients", "weight_gradients"])
def test_layer_histograms_one_normalized_curve_per_layer(record, kind):
    ax = plots.layer_histograms(record, kind)
    assert legend_texts(ax) == record.names == [f"layer {i} (tanh)" for i in (1, 2, 3)]
    assert len(ax.patches) == 3
    for patch in ax.patches:
        assert polygon_area(patch.get_xy()) == pytest.approx(1.0)
    low, high = (min(a.min() for a in record.values(kind)),
                 max(a.max() for a in record.values(kind)))
    for patch in ax.patches:  # every layer shares the bins spanning all the values
        xs = patch.get_xy()[:, 0]
        assert xs.min() == pytest.approx(low) and xs.max() == pytest.approx(high)
    assert ax.get_xlabel() and ax.get_ylabel() == "density" and ax.get_title()


def test_layer_histograms_need_gradients_in_the_trace():
    X = np.random.default_rng(0).standard_normal((10, 5))
    no_labels = trace(nn.mlp([5, 4, 3], "tanh", seed=0), X)
    plots.layer_histograms(no_labels, "activations")
    with pytest.raises(ValueError, match="pass labels y"):
        plots.layer_histograms(no_labels, "gradients")


# --- function_fit ----------------------------------------------------------------------------

def test_function_fit_draws_target_fits_and_training_points():
    x = np.random.default_rng(0).uniform(-3, 3, 50)  # unsorted: lines must still be sorted
    fits = {"width 2": np.tanh(x), "width 10": 0.9 * np.sin(x)}
    ax = plots.function_fit(x, np.sin(x), fits, x_train=x[::5], y_train=np.sin(x[::5]))
    lines = ax.get_lines()
    assert len(lines) == 3
    order = np.argsort(x)
    np.testing.assert_array_equal(lines[0].get_xdata(), x[order])
    np.testing.assert_array_equal(lines[0].get_ydata(), np.sin(x)[order])
    np.testing.assert_array_equal(lines[2].get_ydata(), 0.9 * np.sin(x)[order])
    assert legend_texts(ax) == ["target", "width 2", "width 10", "training data"]
    assert len(ax.collections[0].get_offsets()) == 10
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len({to_rgba(line.get_color()) for line in lines}) == 3


def test_function_fit_single_prediction_and_errors():
    x = np.linspace(0, 1, 20).reshape(-1, 1)
    ax = plots.function_fit(x, x ** 2, x)
    assert legend_texts(ax) == ["target", "fit"]
    with pytest.raises(ShapeError, match="width 3"):
        plots.function_fit(x, x ** 2, {"width 3": x[:-1]})
    with pytest.raises(ShapeError, match="x_train"):
        plots.function_fit(x, x ** 2, x, x_train=x, y_train=x[:5])
