"""Model selection: hold-out splits, cross-validation, grid and random search.

Hyper-parameters (the degree of a polynomial, a learning rate, the width of a layer) are chosen
by how well a model trained with them does on data it was not trained on:

    train_test_split   one random hold-out set (a validation set or a test set)
    KFold, LeaveOneOut every example is held out exactly once across k (or N) folds
    cross_validate     trains and scores a model on each fold, reports the mean and spread
    grid_search        tries every combination of a few values per hyper-parameter
    random_search      samples combinations from distributions (Bergstra & Bengio, 2012):
                       with the same budget it tries more distinct values of each parameter,
                       which pays off when only a few of the parameters matter

Training is the caller's business: cross-validation calls ``fit_and_score(X_tr, y_tr, X_val,
y_val)`` and the searches call ``evaluate(params)``; each returns a float or a dict of named
metrics. Randomness comes from ``seed`` (an int, None or a ``numpy.random.Generator``).
"""
from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass

import numpy as np

from ._validation import ShapeError


def _check_same_length(X, y) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ShapeError(f"X and y must be arrays with one row per example, "
                         f"got shapes {X.shape} and {y.shape}")
    if len(X) != len(y):
        raise ShapeError(f"X and y must have the same number of examples, "
                         f"got {len(X)} and {len(y)}")
    return X, y


def _n_held_out(test_size, n: int) -> int:
    """The number of held-out examples: ``test_size`` is a fraction in (0, 1) or a count."""
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, (float, np.floating)) and 0.0 < test_size < 1.0:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"test_size must be a fraction in (0, 1) or a number of examples, "
                         f"got {test_size!r}")
    if not 1 <= n_test <= n - 1:
        raise ValueError(f"test_size={test_size!r} leaves {n_test} of {n} examples for testing; "
                         "both parts need at least one example")
    return n_test


def _stratified_counts(class_sizes: np.ndarray, n_test: int) -> np.ndarray:
    """Split ``n_test`` among the classes in proportion to their sizes, summing exactly.

    Each class gets the floor of its share; the examples left over go to the classes with the
    largest fractional remainders (the largest remainder method used to apportion seats).
    """
    shares = class_sizes * n_test / class_sizes.sum()
    counts = np.floor(shares).astype(np.intp)
    leftover = n_test - counts.sum()
    counts[np.argsort(-(shares - counts), kind="stable")[:leftover]] += 1
    return counts


def train_test_split(X, y, test_size=0.2, *, stratify: bool = False, seed=None):
    """Randomly hold out part of the data, for validation or for testing.

    This is the library's one hold-out split: call it on the full data to set a test set aside,
    and again on the training part to carve out a validation set.

    Shapes: X (N, ...), y (N, ...). ``test_size`` is a fraction of N (rounded up) or a count.
    With ``stratify=True`` each class of the labels y keeps its proportion in both parts (up to
    rounding), which matters for small or unbalanced data.

    Returns ``X_train, X_test, y_train, y_test`` (scikit-learn's order), each part in a random
    order; ``len(X_test) == ceil(test_size * N)`` for a fraction.
    """
    X, y = _check_same_length(X, y)
    n = len(X)
    n_test = _n_held_out(test_size, n)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    held_out = np.zeros(n, dtype=bool)
    if stratify:
        classes, labels = np.unique(y, return_inverse=True)
        labels = labels.reshape(-1)
        counts = _stratified_counts(np.bincount(labels, minlength=len(classes)), n_test)
        shuffled_labels = labels[order]
        for c, count in enumerate(counts):
            # The first `count` members of class c in a random order form a random subset.
            held_out[order[shuffled_labels == c][:count]] = True
    else:
        held_out[order[:n_test]] = True
    test_idx, train_idx = order[held_out[order]], order[~held_out[order]]
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


class KFold:
    """k-fold cross-validation: split the N examples into k folds of nearly equal size.

    ``split(X)`` yields k pairs ``(train_idx, val_idx)`` of integer index arrays; each example
    is in exactly one validation fold. The first N % k folds hold one extra example. Without
    ``shuffle`` the folds are consecutive blocks (as in scikit-learn); shuffle when the data are
    ordered (sorted inputs, grouped classes), seeded by ``seed``.
    """

    def __init__(self, n_splits: int = 5, shuffle: bool = False, seed=None):
        if not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
            raise ValueError(f"n_splits must be an integer >= 2, got {n_splits!r}")
        self.n_splits, self.shuffle, self.seed = int(n_splits), shuffle, seed

    def get_n_splits(self, X=None) -> int:
        return self.n_splits

    def split(self, X):
        n = len(X)
        if self.n_splits > n:
            raise ValueError(f"cannot split {n} examples into {self.n_splits} folds")
        order = np.random.default_rng(self.seed).permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits)
        sizes[: n % self.n_splits] += 1
        start = 0
        for size in sizes:
            val_idx = order[start:start + size]
            train_idx = np.concatenate([order[:start], order[start + size:]])
            yield train_idx, val_idx
            start += size

    def __repr__(self) -> str:
        return f"KFold(n_splits={self.n_splits}, shuffle={self.shuffle}, seed={self.seed!r})"


class LeaveOneOut:
    """Leave-one-out: N folds, each validating on a single example and training on the rest.

    ``split(X)`` yields ``(train_idx (N-1,), val_idx (1,))`` for each example in order. The
    estimate is nearly unbiased but costs N trainings, so it suits small data sets.
    """

    def get_n_splits(self, X) -> int:
        return len(X)

    def split(self, X):
        n = len(X)
        if n < 2:
            raise ValueError(f"leave-one-out needs at least 2 examples, got {n}")
        everyone = np.arange(n)
        for i in range(n):
            yield np.delete(everyone, i), everyone[i:i + 1]

    def __repr__(self) -> str:
        return "LeaveOneOut()"


def _as_metrics(score, where: str) -> dict[str, float]:
    """A float becomes {"score": value}; a dict of named metrics gets float values."""
    if not isinstance(score, dict):
        score = {"score": score}
    if not score:
        raise ValueError(f"{where} returned an empty dict; return a float or named metrics")
    metrics = {}
    for name, value in score.items():
        try:
            metrics[name] = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"{where} must return a float or a dict of floats, got "
                            f"{type(value).__name__} for {name!r}") from None
    return metrics


@dataclass(frozen=True)
class CVResults:
    """Per-fold scores of a cross-validation and their mean and standard deviation.

    Each field has the form the scorer returned: for a float scorer, ``scores`` is an array
    (k,) and ``mean``, ``std`` are floats; for a dict scorer, all three are dicts keyed by
    metric name (arrays (k,) and floats). ``std`` is the spread across folds (ddof=0).
    """
    scores: np.ndarray | dict[str, np.ndarray]
    mean: float | dict[str, float]
    std: float | dict[str, float]

    def __repr__(self) -> str:
        if isinstance(self.mean, dict):
            parts = ", ".join(f"{k} {m:.4g} ± {self.std[k]:.4g}" for k, m in self.mean.items())
            k = len(next(iter(self.scores.values())))
        else:
            parts, k = f"{self.mean:.4g} ± {self.std:.4g}", len(self.scores)
        return f"CVResults({k} folds: {parts})"


def cross_validate(fit_and_score, X, y, cv=5) -> CVResults:
    """Train and score a model on every fold of ``cv``.

    ``fit_and_score(X_tr, y_tr, X_val, y_val)`` trains a fresh model on the training part and
    returns its score on the validation part: a float, or a dict of named metrics (it may also
    report the training error, say). ``cv`` is a splitter with ``split(X)`` (``KFold``,
    ``LeaveOneOut``) or an int k meaning ``KFold(k)``.

    Shapes: X (N, ...), y (N, ...). Returns ``CVResults`` (see there).
    """
    X, y = _check_same_length(X, y)
    splitter = KFold(cv) if isinstance(cv, (int, np.integer)) else cv
    raw = [fit_and_score(X[tr], y[tr], X[va], y[va]) for tr, va in splitter.split(X)]
    folds = [_as_metrics(score, "fit_and_score") for score in raw]
    names = list(folds[0])
    if any(list(f) != names for f in folds):
        raise ValueError("fit_and_score must return the same metrics on every fold")
    scores = {k: np.array([f[k] for f in folds], dtype=np.float64) for k in names}
    mean = {k: float(v.mean()) for k, v in scores.items()}
    # A diverged fold may score inf; its spread is then reported as nan, without a warning.
    with np.errstate(invalid="ignore"):
        std = {k: float(v.std()) for k, v in scores.items()}
    if isinstance(raw[0], dict):
        return CVResults(scores, mean, std)
    return CVResults(scores["score"], mean["score"], std["score"])


# ------------------------------------------------------------------------------------------
# Hyper-parameter search


@dataclass(frozen=True)
class Uniform:
    """Real values drawn uniformly from [low, high)."""
    low: float
    high: float

    def __post_init__(self):
        if not self.low < self.high:
            raise ValueError(f"Uniform needs low < high, got {self.low!r}, {self.high!r}")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class LogUniform:
    """Positive values whose logarithm is uniform on [log low, log high).

    The right prior for scales such as learning rates or weight decay: 1e-4 to 1e-3 gets as
    many samples as 1e-2 to 1e-1, where a plain uniform would spend 90% of them above 1e-2.
    """
    low: float
    high: float

    def __post_init__(self):
        if not 0 < self.low < self.high:
            raise ValueError(f"LogUniform needs 0 < low < high, got {self.low!r}, {self.high!r}")

    def sample(self, rng: np.random.Generator) -> float:
        value = float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))
        return min(max(value, self.low), self.high)  # exp(log(x)) can round just past x


@dataclass(frozen=True)
class IntUniform:
    """Integers drawn uniformly from low to high, both included."""
    low: int
    high: int

    def __post_init__(self):
        if not self.low <= self.high:
            raise ValueError(f"IntUniform needs low <= high, got {self.low!r}, {self.high!r}")

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high, endpoint=True))


@dataclass(frozen=True)
class Choice:
    """One of a fixed list of options, each equally likely (e.g. activation names)."""
    options: tuple

    def __post_init__(self):
        object.__setattr__(self, "options", tuple(self.options))
        if not self.options:
            raise ValueError("Choice needs at least one option")

    def sample(self, rng: np.random.Generator):
        return self.options[int(rng.integers(len(self.options)))]


def _format(value, floatfmt: str) -> str:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return format(float(value), floatfmt)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


class SearchResults:
    """The table of a hyper-parameter search: one row per evaluation, in evaluation order.

    Each row is a dict ``{param: value, ..., metric: value, ...}``; ``param_names`` and
    ``metric_names`` say which columns are which (a float-valued ``evaluate`` gives the single
    metric "score"). Index it (``results[0]``), iterate over rows, pull a column as an array
    with ``column(name)``, pick the winner with ``best(metric, mode)``, and show it with
    ``to_markdown()`` (for the book) or simply by evaluating it in a notebook.
    """

    def __init__(self, param_names, metric_names, rows):
        self.param_names, self.metric_names = list(param_names), list(metric_names)
        self.rows = [dict(row) for row in rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, i: int) -> dict:
        return self.rows[i]

    @property
    def columns(self) -> list[str]:
        return self.param_names + self.metric_names

    def column(self, name: str) -> np.ndarray:
        """Values of one column, shape (len(self),): float64 if numeric, else objects."""
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; the columns are {self.columns}")
        values = [row[name] for row in self.rows]
        if all(_is_number(v) for v in values):
            return np.array(values, dtype=np.float64)
        return np.array(values, dtype=object)

    def _metric_values(self, metric: str | None, mode: str) -> tuple[str, np.ndarray]:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if metric is None:
            if len(self.metric_names) != 1:
                raise ValueError(f"name the metric to rank by: one of {self.metric_names}")
            metric = self.metric_names[0]
        if metric not in self.metric_names:
            raise KeyError(f"no metric {metric!r}; the metrics are {self.metric_names}")
        return metric, self.column(metric)

    def sorted(self, metric: str | None = None, mode: str = "min") -> "SearchResults":
        """A copy with the rows ordered best first; NaN scores (diverged runs) go last."""
        metric, values = self._metric_values(metric, mode)
        keys = np.where(np.isnan(values), np.inf, values if mode == "min" else -values)
        order = np.argsort(keys, kind="stable")
        return SearchResults(self.param_names, self.metric_names, [self.rows[i] for i in order])

    def best(self, metric: str | None = None, mode: str = "min") -> dict:
        """The row with the lowest (mode="min") or highest ("max") ``metric``, ignoring NaN.

        ``metric`` may be omitted when there is only one. Ties go to the earlier evaluation.
        Its parameters alone: ``{k: row[k] for k in results.param_names}``.
        """
        metric, values = self._metric_values(metric, mode)
        if np.isnan(values).all():
            raise ValueError(f"no evaluation produced a number for {metric!r}")
        index = np.nanargmin(values) if mode == "min" else np.nanargmax(values)
        return dict(self.rows[index])

    def _cells(self, floatfmt: str) -> list[list[str]]:
        return [[_format(row[c], floatfmt) for c in self.columns] for row in self.rows]

    def _numeric(self) -> list[bool]:
        return [bool(self.rows) and all(_is_number(row[c]) for row in self.rows)
                for c in self.columns]

    def to_markdown(self, floatfmt: str = ".4g") -> str:
        """A Markdown (pipe) table, numbers right-aligned, floats formatted with ``floatfmt``."""
        align = ["---:" if numeric else ":---" for numeric in self._numeric()]
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "|".join(align) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in self._cells(floatfmt)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        table = [self.columns] + self._cells(".4g")
        widths = [max(len(r[j]) for r in table) for j in range(len(self.columns))]
        numeric = self._numeric()
        lines = ["  ".join(cell.rjust(w) if num else cell.ljust(w)
                           for cell, w, num in zip(r, widths, numeric)).rstrip()
                 for r in table]
        return f"SearchResults: {len(self)} evaluations\n" + "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
                       + "</tr>" for cells in self._cells(".4g"))
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _run_search(evaluate, param_sets, param_names) -> SearchResults:
    rows, metric_names = [], None
    for params in param_sets:
        metrics = _as_metrics(evaluate(dict(params)), "evaluate")
        if metric_names is None:
            metric_names = list(metrics)
            clash = set(metric_names) & set(param_names)
            if clash:
                raise ValueError(f"metric names {sorted(clash)} are also parameter names")
        elif list(metrics) != metric_names:
            raise ValueError(f"evaluate returned metrics {list(metrics)} after {metric_names}; "
                             "it must return the same metrics every time")
        rows.append(params | metrics)
    return SearchResults(param_names, metric_names or [], rows)


def grid_search(evaluate, param_grid: dict) -> SearchResults:
    """Evaluate every combination of the listed values.

    ``param_grid`` maps each parameter name to a list of values, e.g. ``{"lr": [0.1, 0.01],
    "width": [32, 64, 128]}`` (6 evaluations; the last parameter varies fastest).
    ``evaluate(params: dict)`` trains a model with those parameters and returns a float or a
    dict of metrics (e.g. training and validation error). Returns ``SearchResults``.
    """
    names, grids = list(param_grid), []
    for name, values in param_grid.items():
        if isinstance(values, (str, bytes)) or not np.iterable(values):
            raise TypeError(f"param_grid[{name!r}] must be a list of values, got {values!r}")
        grids.append(list(values))
        if not grids[-1]:
            raise ValueError(f"param_grid[{name!r}] is empty")
    combos = (dict(zip(names, combo)) for combo in itertools.product(*grids))
    return _run_search(evaluate, combos, names)


def _as_distribution(name: str, spec):
    if hasattr(spec, "sample"):
        return spec
    if isinstance(spec, (list, tuple)):
        return Choice(spec)
    raise TypeError(f"distributions[{name!r}] must be Uniform, LogUniform, IntUniform, Choice "
                    f"or a list of values, got {spec!r}")


def random_search(evaluate, distributions: dict, n_iter: int = 20, *, seed=None) -> SearchResults:
    """Evaluate ``n_iter`` parameter combinations sampled independently at random.

    ``distributions`` maps each parameter name to a distribution with ``sample(rng)``
    (``LogUniform(1e-4, 1e-1)``, ``Uniform``, ``IntUniform``, ``Choice``) or to a list of values
    (a uniform choice). ``evaluate(params: dict)`` returns a float or a dict of metrics.
    The same ``seed`` gives the same combinations. Returns ``SearchResults``.
    """
    if not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive integer, got {n_iter!r}")
    dists = {name: _as_distribution(name, spec) for name, spec in distributions.items()}
    rng = np.random.default_rng(seed)
    samples = ({name: d.sample(rng) for name, d in dists.items()} for _ in range(n_iter))
    return _run_search(evaluate, samples, list(dists))
