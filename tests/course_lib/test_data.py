import random
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_lib import data
from course_lib._validation import ShapeError
from course_lib.model_selection import LeaveOneOut, cross_validate

CLASSIFICATION = {
    "xor": lambda seed: data.xor(12, noise=0.1, seed=seed),
    "moons": lambda seed: data.moons(101, noise=0.1, seed=seed),
    "circles": lambda seed: data.circles(101, noise=0.05, seed=seed),
    "two_spirals": lambda seed: data.two_spirals(101, noise=0.05, seed=seed),
    "blobs": lambda seed: data.blobs(100, centers=3, seed=seed),
}
REGRESSION = {
    "function_1d": lambda seed: data.function_1d("sine", 50, noise=0.1, seed=seed),
    "polynomial_regression": lambda seed: data.polynomial_regression(seed=seed),
}
ALL = CLASSIFICATION | REGRESSION


def same_global_state(before, after) -> bool:
    return before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


# ---------------------------------------------------------------- toy generators, all together

@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_shapes_dtypes_and_balanced_labels(name):
    X, y = CLASSIFICATION[name](0)
    n_classes = 3 if name == "blobs" else 2
    assert X.dtype == np.float64 and X.ndim == 2 and X.shape[1] == 2
    assert y.dtype == np.int64 and y.shape == (len(X),)
    counts = np.bincount(y)
    assert len(counts) == n_classes and counts.max() - counts.min() <= 1
    assert np.isfinite(X).all()


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_shapes_and_dtypes(name):
    x, y = REGRESSION[name](0)
    assert x.dtype == y.dtype == np.float64
    assert x.ndim == 2 and x.shape[1] == 1 and y.shape == x.shape


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_data_other_seed_other_data(name):
    X1, y1 = ALL[name](3)
    X2, y2 = ALL[name](3)
    X3, _ = ALL[name](4)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize("name", ALL)
def test_generators_leave_the_global_random_state_alone(name):
    before = np.random.get_state()
    ALL[name](None)
    assert same_global_state(before, np.random.get_state())


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_labels_are_shuffled_not_grouped_by_class(name):
    _, y = CLASSIFICATION[name](0)
    if name != "xor":  # xor cycles through its four corners on purpose
        assert np.count_nonzero(np.diff(y)) > len(y) // 5


@pytest.mark.parametrize("bad", [{"n": 0}, {"n": 2.5}, {"noise": -0.1}, {"noise": float("nan")}])
def test_bad_size_or_noise_is_rejected(bad):
    with pytest.raises(ValueError, match="n must|noise"):
        data.moons(**({"n": 10, "noise": 0.1} | bad))


# ---------------------------------------------------------------- each generator's geometry

def test_xor_default_is_the_truth_table():
    X, y = data.xor()
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.tolist() == [0, 1, 1, 0]


def test_noisy_xor_keeps_each_point_near_its_corner():
    X, y = data.xor(400, noise=0.05, seed=0)
    corners = np.round(X)
    assert np.abs(X - corners).max() < 0.4
    assert np.array_equal(y, (corners[:, 0] != corners[:, 1]).astype(int))


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = data.moons(51, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(*upper.T), 1.0) and (upper[:, 1] >= -1e-12).all()
    assert np.allclose(np.hypot(1 - lower[:, 0], 0.5 - lower[:, 1]), 1.0)
    assert (lower[:, 1] <= 0.5 + 1e-12).all()
    assert len(upper) == 26 and len(lower) == 25


def test_circles_without_noise_have_radius_one_and_factor():
    X, y = data.circles(40, noise=0.0, factor=0.3, seed=0)
    radius = np.hypot(*X.T)
    assert np.allclose(radius[y == 0], 1.0) and np.allclose(radius[y == 1], 0.3)


def test_circles_factor_must_be_inside_the_unit_circle():
    with pytest.raises(ValueError, match="factor"):
        data.circles(10, factor=1.5)


def test_two_spirals_without_noise_follow_their_arms():
    X, y = data.two_spirals(300, noise=0.0, turns=2.0, seed=1)
    r = np.hypot(*X.T)
    angle = 2 * np.pi * 2.0 * r + np.pi * y
    assert (r <= 1.0).all()
    assert np.allclose(X, r[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]))


def test_blobs_cluster_around_given_centres_with_given_spreads():
    centers = np.array([[0.0, 0.0, 0.0], [20.0, 0.0, -5.0]])
    X, y = data.blobs(4000, centers=centers, std=[0.5, 2.0], seed=0)
    assert X.shape == (4000, 3)
    for k in range(2):
        assert np.allclose(X[y == k].mean(axis=0), centers[k], atol=0.2)
        assert np.allclose(X[y == k].std(axis=0), [0.5, 2.0][k], rtol=0.1)


def test_blobs_draws_random_centres_in_the_box():
    X, y = data.blobs(50, centers=4, std=0.0, n_features=5, seed=0)
    assert X.shape == (50, 5) and set(y) == {0, 1, 2, 3}
    assert np.abs(X).max() <= 10
    assert len(np.unique(X, axis=0)) == 4  # std 0: every point sits on its centre


# ---------------------------------------------------------------- 1-D regression

@pytest.mark.parametrize("name", sorted(data.FUNCTIONS_1D))
def test_function_1d_named_targets_without_noise(name):
    x, y = data.function_1d(name, 100, interval=(-2.0, 3.0), seed=0)
    assert x.shape == y.shape == (100, 1)
    assert (np.diff(x[:, 0]) >= 0).all() and x.min() >= -2.0 and x.max() < 3.0
    assert np.array_equal(y[:, 0], data.FUNCTIONS_1D[name](x[:, 0]))


def test_function_1d_targets_have_their_shapes():
    t = np.array([-0.75, -0.25, 0.0, 0.25])
    f = data.FUNCTIONS_1D
    assert np.allclose(f["sine"](t), [1, -1, 0, 1])
    assert f["step"](t).tolist() == [0, 0, 1, 1] and f["abs"](t).tolist() == [0.75, 0.25, 0, 0.25]
    assert np.argmax(f["bumps"](np.linspace(-1, 1, 2001))) == 400  # tallest bump at -0.6


def test_function_1d_callable_and_noise():
    x, y = data.function_1d(lambda t: t**2, 2000, noise=0.3, seed=0)
    residual = y - x**2
    assert abs(residual.mean()) < 0.03 and abs(residual.std() - 0.3) < 0.02


def test_function_1d_rejects_unknown_names_and_bad_callables():
    with pytest.raises(ValueError, match="unknown target 'cosine'"):
        data.function_1d("cosine")
    with pytest.raises(ShapeError, match="one value per x"):
        data.function_1d(lambda t: t[:3], 10)


def test_polynomial_regression_without_noise_is_the_polynomial():
    x, y = data.polynomial_regression(25, noise=0.0, coefficients=(1.0, -2.0, 0.0, 3.0), seed=0)
    assert x.shape == y.shape == (25, 1) and np.abs(x).max() <= 1
    assert np.allclose(y, 1 - 2 * x + 3 * x**3)


def test_polynomial_features_columns_are_powers():
    x = np.array([[2.0], [-1.0], [0.5]])
    assert np.array_equal(data.polynomial_features(x, 3),
                          [[1, 2, 4, 8], [1, -1, 1, -1], [1, 0.5, 0.25, 0.125]])
    assert data.polynomial_features(x[:, 0], 0).shape == (3, 1)
    with pytest.raises(ShapeError, match=r"\(N, 1\)"):
        data.polynomial_features(np.ones((3, 2)), 2)


def loo_errors(x, y, degree):
    def fit_and_score(x_tr, y_tr, x_val, y_val):
        w, *_ = np.linalg.lstsq(data.polynomial_features(x_tr, degree), y_tr, rcond=None)
        mse = lambda xs, ys: float(np.mean((data.polynomial_features(xs, degree) @ w - ys) ** 2))
        return {"train": mse(x_tr, y_tr), "valid": mse(x_val, y_val)}
    return cross_validate(fit_and_score, x, y, LeaveOneOut()).mean


def test_polynomial_regression_seed_7_reproduces_the_lecture_table():
    x, y = data.polynomial_regression(seed=7)
    errors = [loo_errors(x, y, d) for d in range(1, 10)]
    train = [e["train"] for e in errors]
    valid = [e["valid"] for e in errors]
    assert np.allclose(valid[:4], [0.35, 0.27, 0.43, 1.4], rtol=0.05)
    assert np.allclose(train[:4], [0.21, 0.14, 0.13, 0.12], rtol=0.05)
    assert np.argmin(valid) == 1                      # d = 2 is the best degree
    assert all(np.diff(train) <= 1e-12)               # more degrees, better fit
    assert max(train[7:]) < 1e-12                     # d = 8, 9 interpolate the 9 points
    assert min(valid[6:]) > 100 * valid[1]            # and generalize terribly


# ---------------------------------------------------------------- real data sets

def test_digits_shapes_range_and_stratified_split():
    d = data.load_digits(seed=0)
    assert len(d.X_train) + len(d.X_test) == 1797 and len(d.X_test) == 360
    assert d.X_train.shape[1] == d.X_test.shape[1] == 64 and d.X_train.dtype == np.float64
    assert d.X_train.min() == 0.0 and d.X_train.max() == 1.0 and d.X_test.max() <= 1.0
    assert d.y_train.dtype == np.int64 and d.n_classes == 10
    full = np.bincount(np.concatenate([d.y_train, d.y_test]))
    assert np.all(np.abs(np.bincount(d.y_test) - 0.2 * full) <= 1)
    assert "digits" in repr(d) and "(360, 64)" in repr(d) and d.description


def test_digits_split_is_seeded():
    a, b, c = data.load_digits(seed=1), data.load_digits(seed=1), data.load_digits(seed=2)
    assert np.array_equal(a.X_test, b.X_test) and np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.X_test, c.X_test)
    assert len(data.load_digits(test_size=0.5).X_test) == 899


def test_mnist1d_matches_the_published_sizes():
    d = data.load_mnist1d()
    assert d.X_train.shape == (4000, 40) and d.X_test.shape == (1000, 40)
    assert d.y_train.shape == (4000,) and d.y_test.shape == (1000,)
    assert d.X_train.dtype == np.float64 and d.y_train.dtype == np.int64
    assert d.n_classes == 10 and set(d.y_train) == set(d.y_test) == set(range(10))
    both = np.concatenate([d.X_train, d.X_test])
    assert abs(both.mean()) < 1e-9 and abs(both.std() - 1) < 1e-9  # standardized overall


def test_mnist1d_leaves_global_random_states_untouched():
    np.random.seed(123)
    random.seed(123)
    numpy_before, python_before = np.random.get_state(), random.getstate()
    # A (seed, size) pair no other test uses, so the generator really runs here.
    d = data.load_mnist1d(seed=11, n_samples=100)
    assert d.X_train.shape == (80, 40) and d.X_test.shape == (20, 40)
    assert same_global_state(numpy_before, np.random.get_state())
    assert random.getstate() == python_before


def test_mnist1d_is_deterministic_and_callers_get_their_own_copies():
    a = data.load_mnist1d(seed=5, n_samples=100)
    a.X_train[:] = 0.0
    b = data.load_mnist1d(seed=5, n_samples=100)
    c = data.load_mnist1d(seed=6, n_samples=100)
    assert np.abs(b.X_train).sum() > 0
    assert not np.allclose(b.X_train, c.X_train)
    fresh = data._mnist1d_arrays.__wrapped__(5, 100)
    assert np.array_equal(b.X_train, fresh[0]) and np.array_equal(b.y_test, fresh[3])


# ---------------------------------------------------------------- Standardizer

def test_standardizer_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = rng.normal([5.0, -3.0], [2.0, 0.1], size=(200, 2))
    test = rng.normal(0.0, 1.0, size=(50, 2))
    scaler = data.Standardizer().fit(train)
    z_train = scaler.transform(train)
    assert np.allclose(z_train.mean(axis=0), 0) and np.allclose(z_train.std(axis=0), 1)
    assert np.allclose(scaler.transform(test), (test - train.mean(0)) / train.std(0))
    assert np.allclose(data.Standardizer().fit_transform(train), z_train)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 5), st.integers(0, 2**32 - 1), st.floats(1e-3, 1e3))
def test_standardizer_inverse_round_trip(n, d, seed, scale):
    X = scale * np.random.default_rng(seed).standard_normal((n, d)) + 7.0
    scaler = data.Standardizer().fit(X)
    assert np.allclose(scaler.inverse_transform(scaler.transform(X)), X, rtol=1e-12, atol=1e-9)


def test_standardizer_maps_constant_features_to_zero_without_warnings():
    X = np.column_stack([np.full(1000, 0.1), np.arange(1000.0), np.zeros(1000)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaler = data.Standardizer().fit(X)
        Z = scaler.transform(X)
    assert np.array_equal(Z[:, 0], np.zeros(1000)) and np.array_equal(Z[:, 2], np.zeros(1000))
    assert np.allclose(Z[:, 1].std(), 1.0)
    assert np.array_equal(scaler.inverse_transform(Z)[:, [0, 2]], X[:, [0, 2]])
    assert np.array_equal(data.Standardizer().fit_transform(np.ones((1, 3))), np.zeros((1, 3)))


def test_standardizer_errors_are_explicit():
    with pytest.raises(RuntimeError, match="fit"):
        data.Standardizer().transform(np.ones((2, 2)))
    scaler = data.Standardizer().fit(np.ones((4, 3)))
    with pytest.raises(ShapeError, match=r"\(N, 3\), got \(2, 2\)"):
        scaler.transform(np.ones((2, 2)))
    with pytest.raises(ShapeError, match="X must be 2-D"):
        data.Standardizer().fit(np.ones(5))
    assert repr(scaler) == "Standardizer(3 features)"


# ---------------------------------------------------------------- one_hot

def test_one_hot():
    encoded = data.one_hot([2, 0, 1, 2])
    assert encoded.dtype == np.float64
    assert encoded.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    assert data.one_hot(np.array([0, 1]), n_classes=4).shape == (2, 4)
    assert data.one_hot(np.array([1.0, 0.0]), n_classes=2).tolist() == [[0, 1], [1, 0]]
    assert data.one_hot(np.array([], dtype=int)).shape == (0, 0)


@given(st.lists(st.integers(0, 9), min_size=1, max_size=50))
def test_one_hot_inverts_argmax(labels):
    encoded = data.one_hot(labels, n_classes=10)
    assert np.array_equal(encoded.argmax(axis=1), labels) and np.all(encoded.sum(axis=1) == 1)


def test_one_hot_rejects_bad_labels():
    with pytest.raises(ValueError, match="label 3"):
        data.one_hot([0, 3], n_classes=3)
    with pytest.raises(ValueError, match="label -1"):
        data.one_hot([0, -1])
    with pytest.raises(ShapeError, match="1-D"):
        data.one_hot(np.zeros((2, 2), dtype=int))
    with pytest.raises(TypeError, match="integer"):
        data.one_hot([0.5, 1.0])


# ---------------------------------------------------------------- mini-batches

@settings(max_examples=80, deadline=None)
@given(st.integers(1, 60), st.integers(1, 70), st.integers(0, 2**32 - 1), st.booleans())
def test_minibatches_cover_every_example_once(n, batch_size, seed, shuffle):
    X = np.arange(n * 2.0).reshape(n, 2)
    y = np.arange(n)
    batches = list(data.iterate_minibatches(X, y, batch_size, shuffle=shuffle, seed=seed))
    sizes = [len(yb) for _, yb in batches]
    assert sizes[:-1] == [batch_size] * (len(sizes) - 1)
    assert sizes[-1] == (n % batch_size or min(n, batch_size))
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen) == list(range(n))
    assert all(np.array_equal(Xb[:, 0], 2 * yb) for Xb, yb in batches)  # rows stay paired
    if not shuffle:
        assert seen.tolist() == list(range(n))


def test_minibatch_order_is_seeded():
    X, y = np.zeros((100, 1)), np.arange(100)
    def order(seed):
        return np.concatenate([yb for _, yb in data.iterate_minibatches(X, y, 16, seed=seed)])

    assert np.array_equal(order(1), order(1)) and not np.array_equal(order(1), order(2))
    rng = np.random.default_rng(0)
    assert not np.array_equal(order(rng), order(rng))  # a shared generator: a new order per epoch


def test_minibatches_reject_mismatched_inputs():
    with pytest.raises(ShapeError, match="same number of examples"):
        list(data.iterate_minibatches(np.zeros((5, 2)), np.zeros(4), 2))
    with pytest.raises(ValueError, match="batch_size"):
        list(data.iterate_minibatches(np.zeros((5, 2)), np.zeros(5), 0))
