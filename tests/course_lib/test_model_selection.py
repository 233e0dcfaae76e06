import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from course_lib import model_selection as ms
from course_lib._validation import ShapeError


# ---------------------------------------------------------------- train_test_split

@settings(max_examples=80, deadline=None)
@given(st.integers(2, 200), st.floats(0.01, 0.99), st.integers(0, 2**32 - 1))
def test_split_is_a_partition_with_the_requested_size(n, test_size, seed):
    n_test = math.ceil(test_size * n)
    if not 1 <= n_test <= n - 1:
        with pytest.raises(ValueError, match="test_size"):
            ms.train_test_split(np.zeros(n), np.zeros(n), test_size, seed=seed)
        return
    X = np.arange(n)[:, None] * np.ones((1, 3))
    y = np.arange(n)
    X_tr, X_te, y_tr, y_te = ms.train_test_split(X, y, test_size, seed=seed)
    assert len(y_te) == n_test and len(y_tr) == n - n_test
    assert sorted(np.concatenate([y_tr, y_te])) == list(range(n))
    assert np.array_equal(X_tr[:, 0], y_tr) and np.array_equal(X_te[:, 2], y_te)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=4, max_size=150), st.floats(0.1, 0.6),
       st.integers(0, 2**32 - 1))
def test_stratified_split_keeps_class_proportions(labels, test_size, seed):
    y = np.array(labels)
    n = len(y)
    n_test = math.ceil(test_size * n)
    if n_test > n - 1:
        return
    _, X_te, _, y_te = ms.train_test_split(np.arange(n), y, test_size, stratify=True, seed=seed)
    assert len(y_te) == n_test
    assert np.array_equal(y[X_te], y_te)
    for c in np.unique(y):
        share = np.sum(y == c) * n_test / n
        assert math.floor(share) <= np.sum(y_te == c) <= math.ceil(share)


def test_stratified_split_rounds_by_largest_remainder():
    # Shares of the 3 test examples: 0.3 for the rare class, 2.7 for the common one.
    y = np.array([0] + [1] * 9)
    for seed in range(5):
        _, _, _, y_te = ms.train_test_split(np.arange(10), y, 0.3, stratify=True, seed=seed)
        assert y_te.tolist() == [1, 1, 1]


def test_split_is_seeded_and_shuffles_both_parts():
    X = np.arange(100)
    a = ms.train_test_split(X, X, 0.3, seed=1)
    b = ms.train_test_split(X, X, 0.3, seed=1)
    c = ms.train_test_split(X, X, 0.3, seed=2)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[1], c[1])
    assert not np.all(np.diff(a[0]) > 0) and not np.all(np.diff(a[1]) > 0)


def test_split_accepts_a_count_and_rejects_nonsense():
    X = np.zeros((10, 2))
    assert len(ms.train_test_split(X, np.zeros(10), 3, seed=0)[1]) == 3
    for bad in (0, 10, 1.0, -0.5, True, "0.2"):
        with pytest.raises(ValueError, match="test_size"):
            ms.train_test_split(X, np.zeros(10), bad)
    with pytest.raises(ShapeError, match="same number of examples, got 10 and 9"):
        ms.train_test_split(X, np.zeros(9))


# ---------------------------------------------------------------- KFold, LeaveOneOut

@settings(max_examples=80, deadline=None)
@given(st.integers(2, 60), st.integers(2, 12), st.booleans(), st.integers(0, 2**32 - 1))
def test_kfold_folds_are_disjoint_covering_and_balanced(n, k, shuffle, seed):
    if k > n:
        with pytest.raises(ValueError, match="folds"):
            list(ms.KFold(k).split(np.zeros(n)))
        return
    folds = list(ms.KFold(k, shuffle=shuffle, seed=seed).split(np.zeros((n, 2))))
    assert len(folds) == k
    validation = np.concatenate([va for _, va in folds])
    assert sorted(validation) == list(range(n))
    sizes = [len(va) for _, va in folds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    for tr, va in folds:
        assert sorted(np.concatenate([tr, va])) == list(range(n))
    if not shuffle:
        assert validation.tolist() == list(range(n))


def test_kfold_shuffle_is_seeded():
    def val(seed):
        return [va.tolist() for _, va in ms.KFold(4, shuffle=True, seed=seed).split(range(20))]

    assert val(0) == val(0) and val(0) != val(1)
    assert ms.KFold(4).get_n_splits() == 4
    with pytest.raises(ValueError, match="n_splits"):
        ms.KFold(1)


def test_leave_one_out_makes_n_folds_of_one():
    folds = list(ms.LeaveOneOut().split(np.zeros((6, 3))))
    assert len(folds) == ms.LeaveOneOut().get_n_splits(np.zeros(6)) == 6
    for i, (tr, va) in enumerate(folds):
        assert va.tolist() == [i] and tr.tolist() == [j for j in range(6) if j != i]


# ---------------------------------------------------------------- cross_validate

def test_cross_validate_with_a_float_scorer():
    X = np.arange(12.0)[:, None]
    y = np.arange(12.0)
    calls = []

    def fit_and_score(X_tr, y_tr, X_val, y_val):
        calls.append((len(X_tr), len(X_val)))
        assert np.array_equal(X_val[:, 0], y_val)
        return float(y_val.mean())

    result = ms.cross_validate(fit_and_score, X, y, ms.KFold(3))
    assert calls == [(8, 4)] * 3
    assert result.scores.tolist() == [1.5, 5.5, 9.5]
    assert result.mean == pytest.approx(5.5)
    assert result.std == pytest.approx(np.std([1.5, 5.5, 9.5]))
    assert repr(result) == "CVResults(3 folds: 5.5 ± 3.266)"


def test_cross_validate_with_a_dict_scorer_and_an_int_cv():
    X, y = np.zeros((10, 1)), np.arange(10.0)
    result = ms.cross_validate(lambda a, b, c, d: {"n_train": len(a), "val": d.sum()}, X, y, 5)
    assert result.scores["n_train"].tolist() == [8] * 5
    assert result.scores["val"].tolist() == [1, 5, 9, 13, 17]
    assert result.mean == {"n_train": 8.0, "val": 9.0} and result.std["n_train"] == 0.0


def test_cross_validate_reports_inf_folds_without_warnings():
    result = ms.cross_validate(lambda a, b, c, d: np.inf if d[0] == 0 else 1.0,
                               np.zeros(4), np.arange(4), ms.LeaveOneOut())
    assert result.mean == np.inf and np.isnan(result.std)


def test_cross_validate_rejects_inconsistent_or_non_numeric_scores():
    with pytest.raises(ValueError, match="same metrics"):
        ms.cross_validate(lambda a, b, c, d: {"a": 1} if d[0] else {"b": 1},
                          np.zeros(4), np.arange(4), 2)
    with pytest.raises(TypeError, match="float"):
        ms.cross_validate(lambda a, b, c, d: "good", np.zeros(4), np.arange(4), 2)


# ---------------------------------------------------------------- distributions

def test_log_uniform_samples_are_in_range_and_uniform_in_log():
    rng = np.random.default_rng(0)
    low, high, n = 1e-5, 1e-1, 4000

    def ks_distance_from_log_uniform(samples):
        u = np.sort((np.log(samples) - np.log(low)) / (np.log(high) - np.log(low)))
        cdf = np.arange(1, n + 1) / n
        return max(np.max(cdf - u), np.max(u - (cdf - 1 / n)))

    log_uniform = np.array([ms.LogUniform(low, high).sample(rng) for _ in range(n)])
    plain_uniform = np.array([ms.Uniform(low, high).sample(rng) for _ in range(n)])
    assert log_uniform.min() >= low and log_uniform.max() <= high
    critical = 1.63 / np.sqrt(n)  # Kolmogorov-Smirnov at the 1% level
    assert ks_distance_from_log_uniform(log_uniform) < critical
    assert ks_distance_from_log_uniform(plain_uniform) > 10 * critical  # the test has teeth


@given(st.floats(1e-8, 1e3), st.floats(1.001, 1e6), st.integers(0, 2**32 - 1))
def test_log_uniform_never_leaves_its_range(low, ratio, seed):
    value = ms.LogUniform(low, low * ratio).sample(np.random.default_rng(seed))
    assert low <= value <= low * ratio


def test_uniform_int_uniform_and_choice():
    rng = np.random.default_rng(0)
    u = [ms.Uniform(-2.0, 3.0).sample(rng) for _ in range(2000)]
    assert -2.0 <= min(u) and max(u) < 3.0 and abs(np.mean(u) - 0.5) < 0.1
    ints = [ms.IntUniform(3, 6).sample(rng) for _ in range(400)]
    assert set(ints) == {3, 4, 5, 6} and all(type(i) is int for i in ints)
    choice = ms.Choice(["relu", "tanh"])
    assert {choice.sample(rng) for _ in range(50)} == {"relu", "tanh"}


@pytest.mark.parametrize("make", [lambda: ms.Uniform(1, 1), lambda: ms.LogUniform(0, 1),
                                  lambda: ms.IntUniform(5, 4), lambda: ms.Choice([])])
def test_distributions_reject_empty_ranges(make):
    with pytest.raises(ValueError):
        make()


# ---------------------------------------------------------------- grid and random search

def test_grid_search_evaluates_the_full_product_in_order():
    seen = []

    def evaluate(params):
        seen.append(params)
        return {"loss": params["lr"] * params["width"], "width_seen": params["width"]}

    results = ms.grid_search(evaluate, {"lr": [0.1, 0.01], "width": range(1, 4)})
    assert seen == [{"lr": lr, "width": w} for lr in (0.1, 0.01) for w in (1, 2, 3)]
    assert len(results) == 6 and results.param_names == ["lr", "width"]
    assert results.metric_names == ["loss", "width_seen"]
    assert results[4] == {"lr": 0.01, "width": 2, "loss": 0.02, "width_seen": 2.0}
    assert results.best("loss") == {"lr": 0.01, "width": 1, "loss": 0.01, "width_seen": 1.0}
    assert results.best("loss", mode="max")["loss"] == pytest.approx(0.3)


def test_grid_search_rejects_bad_grids_and_clashing_names():
    with pytest.raises(TypeError, match="list of values"):
        ms.grid_search(lambda p: 0.0, {"lr": 0.1})
    with pytest.raises(ValueError, match="empty"):
        ms.grid_search(lambda p: 0.0, {"lr": []})
    with pytest.raises(ValueError, match="also parameter names"):
        ms.grid_search(lambda p: {"lr": 1.0}, {"lr": [0.1]})


def test_random_search_is_seeded_and_samples_each_parameter():
    space = {"lr": ms.LogUniform(1e-4, 1e-1), "width": ms.IntUniform(8, 64),
             "activation": ["relu", "tanh", "elu"]}
    evaluate = lambda p: np.log10(p["lr"]) ** 2
    a = ms.random_search(evaluate, space, 30, seed=0)
    b = ms.random_search(evaluate, space, 30, seed=0)
    c = ms.random_search(evaluate, space, 30, seed=1)
    assert a.rows == b.rows and a.rows != c.rows
    assert len(a) == 30 and a.metric_names == ["score"]
    assert set(a.column("activation")) == {"relu", "tanh", "elu"}
    lr = a.column("lr")
    assert lr.dtype == np.float64 and (lr >= 1e-4).all() and (lr <= 1e-1).all()
    assert a.best()["lr"] == lr[np.argmin(np.log10(lr) ** 2)]
    assert np.allclose(a.column("score"), np.log10(lr) ** 2)


def test_random_search_rejects_bad_specifications():
    with pytest.raises(TypeError, match="distributions\\['lr'\\]"):
        ms.random_search(lambda p: 0.0, {"lr": 0.1}, 3)
    with pytest.raises(ValueError, match="n_iter"):
        ms.random_search(lambda p: 0.0, {"lr": [0.1]}, 0)


# ---------------------------------------------------------------- SearchResults

def make_results():
    return ms.SearchResults(["d", "act"], ["train", "valid"], [
        {"d": 1, "act": "relu", "train": 0.2188, "valid": 0.3558},
        {"d": 2, "act": "relu", "train": 0.1504, "valid": 0.3095},
        {"d": 8, "act": "tanh", "train": 0.0, "valid": float("nan")},
        {"d": 9, "act": "tanh", "train": 0.0, "valid": 6097.5},
    ])


def test_best_ignores_nan_and_needs_a_metric_when_there_are_several():
    results = make_results()
    assert results.best("valid")["d"] == 2
    assert results.best("valid", mode="max")["d"] == 9
    assert results.best("train")["d"] == 8  # ties go to the earlier evaluation
    with pytest.raises(ValueError, match="name the metric"):
        results.best()
    with pytest.raises(KeyError, match="no metric 'd'"):
        results.best("d")
    with pytest.raises(ValueError, match="mode"):
        results.best("valid", mode="lowest")
    only_nan = ms.SearchResults(["a"], ["score"], [{"a": 1, "score": float("nan")}])
    with pytest.raises(ValueError, match="no evaluation"):
        only_nan.best()


def test_sorted_puts_the_best_first_and_nan_last():
    assert make_results().sorted("valid").column("d").tolist() == [2, 1, 9, 8]
    assert make_results().sorted("valid", "max").column("d").tolist() == [9, 1, 2, 8]


def test_to_markdown_is_a_pipe_table():
    lines = make_results().to_markdown().splitlines()
    assert lines[0] == "| d | act | train | valid |"
    assert lines[1] == "|---:|:---|---:|---:|"
    assert lines[2] == "| 1 | relu | 0.2188 | 0.3558 |"
    assert lines[5] == "| 9 | tanh | 0 | 6098 |"
    one_decimal = make_results().to_markdown(floatfmt=".1f")
    assert one_decimal.splitlines()[5] == "| 9 | tanh | 0.0 | 6097.5 |"


def test_text_and_html_representations():
    text = repr(make_results())
    assert text.splitlines()[0] == "SearchResults: 4 evaluations"
    assert text.splitlines()[1].split() == ["d", "act", "train", "valid"]
    assert text.splitlines()[5].split() == ["9", "tanh", "0", "6098"]
    html = make_results()._repr_html_()
    assert html.startswith("<table>") and html.count("<tr>") == 5 and "<td>relu</td>" in html
    odd = ms.SearchResults(["name"], ["score"], [{"name": "<b>", "score": 1.0}])
    assert "&lt;b&gt;" in odd._repr_html_()


def test_column_gives_arrays():
    results = make_results()
    assert results.column("d").dtype == np.float64 and results.column("act").dtype == object
    with pytest.raises(KeyError, match="no column"):
        results.column("lr")
