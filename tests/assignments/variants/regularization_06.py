"""Assignment 06-regularization: realistic mistakes and correct alternatives.

The parts are graded independently, so one submission can carry mistakes in several parts:
each costs its own part and nothing else, and one notebook run checks them all (each run
costs seconds of kernel start-up and imports).
"""

L2_SOLUTION_SHAPE = '''
def l2_penalty(params, weight_decay):
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {{weight_decay}}")
    total, grads = 0.0, []
    for p in params:
        if p.decay:
            total += float(np.sum(p.value ** 2))
        grads.append({grad})
    return {value}, grads
'''


def l2(value="0.5 * weight_decay * total",
       grad="weight_decay * p.value if p.decay else np.zeros_like(p.value)"):
    """An l2_penalty with the instructor's structure and one expression replaced."""
    return {"l2_penalty": L2_SOLUTION_SHAPE.format(value=value, grad=grad)}


EARLY_STOPPING = '''
class EarlyStopping:
    def __init__(self, patience):
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {{patience}}")
        self.patience = patience
        self.epoch = 0
        self.waited = 0
        self.best_epoch = None
        self.best_loss = np.inf
        self.best_values = None

    def update(self, val_loss, params):
        self.epoch += 1
        if {improves}:
            self.best_epoch, self.best_loss = self.epoch, val_loss
            self.best_values = {snapshot}
            self.waited = 0
            {after_improvement}
        else:
            self.waited += 1
        return self.waited {compare} self.patience

    def restore(self, params):
        if self.best_values is None:
            raise RuntimeError("nothing to restore")
        for p, best in zip(params, self.best_values):
            {restore}
'''


def early_stopping(improves="val_loss < self.best_loss", snapshot="[p.value.copy() for p in params]",
                   after_improvement="return False", compare=">=", restore="p.value[...] = best"):
    return {"early_stopping": EARLY_STOPPING.format(
        improves=improves, snapshot=snapshot, after_improvement=after_improvement,
        compare=compare, restore=restore)}


KFOLD = '''
def kfold_indices(n, k, seed):
    if not 2 <= k <= n:
        raise ValueError(f"k must be between 2 and n = {{n}}, got {{k}}")
    {order}
    {sizes}
    folds, start = [], 0
    for size in sizes:
        val_idx = order[start:start + size]
        train_idx = np.concatenate([order[:start], order[start + size:]])
        folds.append((train_idx, val_idx))
        start += size
    return folds
'''
SHUFFLED = "order = np.random.default_rng(seed).permutation(n)"
BALANCED = "sizes = [n // k + (1 if j < n % k else 0) for j in range(k)]"


def kfold(order=SHUFFLED, sizes=BALANCED):
    return {"kfold_indices": KFOLD.format(order=order, sizes=sizes)}


def log_uniform(draw):
    return {"log_uniform": f'''
def log_uniform(low, high, size, rng):
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high, got {{low}}, {{high}}")
    return {draw}
'''}


REUSED_DICT_SEARCH = {"random_search": '''
def random_search(evaluate, space, n_iter, seed):
    if n_iter < 1:
        raise ValueError("n_iter must be positive")
    rng = np.random.default_rng(seed)
    rows, row = [], {}
    for _ in range(n_iter):
        for name, (low, high) in space.items():
            row[name] = float(log_uniform(low, high, 1, rng)[0])
        row["score"] = float(evaluate({name: row[name] for name in space}))
        rows.append(row)
    return rows
'''}
GENERATOR_PER_HYPERPARAMETER_SEARCH = {"random_search": '''
def random_search(evaluate, space, n_iter, seed):
    if n_iter < 1:
        raise ValueError("n_iter must be positive")
    columns = {name: log_uniform(low, high, n_iter, np.random.default_rng(seed))
               for name, (low, high) in space.items()}
    rows = []
    for i in range(n_iter):
        params = {name: float(column[i]) for name, column in columns.items()}
        rows.append({**params, "score": evaluate(params)})
    return rows
'''}
UNSEEDED_SEARCH = {"random_search": '''
def random_search(evaluate, space, n_iter, seed):
    if n_iter < 1:
        raise ValueError("n_iter must be positive")
    rng = np.random.default_rng()
    rows = []
    for _ in range(n_iter):
        params = {name: float(log_uniform(low, high, 1, rng)[0]) for name, (low, high) in space.items()}
        rows.append({**params, "score": evaluate(params)})
    return rows
'''}

# Each entry plants mistakes in different parts (named in its key, separated by ";"): every
# part with a mistake must score 0 and every other part full marks.
BUGGY = {
    "penalty without the 1/2; ties count as improvements; log-uniform drawn uniformly": (
        {**l2(value="weight_decay * total"),
         **early_stopping(improves="val_loss <= self.best_loss"),
         **log_uniform("rng.uniform(low, high, size)")},
        {"test_l2_value", "test_early_stopping", "test_log_uniform"}),
    # Forward and backward agree with each other (the student's own gradient check passes),
    # but not with the chapter's convention: only the reference catches it.
    "a consistent pair without the 1/2 (lam ||W||^2, 2 lam W); keeps the arrays, not copies": (
        {**l2(value="weight_decay * total",
              grad="2 * weight_decay * p.value if p.decay else np.zeros_like(p.value)"),
         **early_stopping(snapshot="[p.value for p in params]")},
        {"test_l2_value", "test_l2_gradient", "test_early_stopping_restore"}),
    "biases penalized too; k-fold without shuffling; random search reuses one dict": (
        {"l2_penalty": '''
def l2_penalty(params, weight_decay):
    if weight_decay < 0:
        raise ValueError("weight_decay must be >= 0")
    value = 0.5 * weight_decay * sum(np.sum(p.value ** 2) for p in params)
    return value, [weight_decay * p.value for p in params]
''', **kfold(order="order = np.arange(n)"), **REUSED_DICT_SEARCH},
        {"test_l2_value", "test_l2_gradient", "test_kfold", "test_random_search"}),
    "gradient forgets weight_decay; stops one epoch late; log-uniform from the global random state": (
        {**l2(grad="p.value if p.decay else np.zeros_like(p.value)"),
         **early_stopping(compare=">"),
         **log_uniform("np.exp(np.random.uniform(np.log(low), np.log(high), size))")},
        {"test_l2_gradient", "test_early_stopping", "test_log_uniform"}),
    "gradients only for the penalized parameters; remainder in the last fold; "
    "one generator per hyperparameter": (
        {"l2_penalty": '''
def l2_penalty(params, weight_decay):
    if weight_decay < 0:
        raise ValueError("weight_decay must be >= 0")
    weights = [p for p in params if p.decay]
    value = 0.5 * weight_decay * sum(np.sum(p.value ** 2) for p in weights)
    return value, [weight_decay * p.value for p in weights]
''', **kfold(sizes="sizes = [n // k] * (k - 1) + [n - (k - 1) * (n // k)]"),
            **GENERATOR_PER_HYPERPARAMETER_SEARCH},
        {"test_l2_gradient", "test_kfold", "test_random_search"}),
    "gradient computed in place (shrinks the weights); a NaN loss counts as an improvement; "
    "exp of a uniform draw between log10 bounds": (
        {"l2_penalty": '''
def l2_penalty(params, weight_decay):
    if weight_decay < 0:
        raise ValueError("weight_decay must be >= 0")
    value = 0.5 * weight_decay * sum(np.sum(p.value ** 2) for p in params if p.decay)
    grads = []
    for p in params:
        if p.decay:
            g = p.value
            g *= weight_decay
            grads.append(g)
        else:
            grads.append(np.zeros_like(p.value))
    return value, grads
''', **early_stopping(improves="not val_loss >= self.best_loss"),
            **log_uniform("np.exp(rng.uniform(np.log10(low), np.log10(high), size))")},
        {"test_l2_gradient", "test_early_stopping", "test_log_uniform"}),
    # The stop rule of course_lib (checked every epoch) agrees for patience >= 1, but with
    # patience 0 it stops at epoch 1. The penalty is handed to course_lib (tampering).
    "stop rule checked after an improvement too; k-fold drops the last n % k examples; "
    "random search ignores its seed; l2_penalty calls course_lib's": (
        {**early_stopping(after_improvement="pass"), **kfold(sizes="sizes = [n // k] * k"),
         **UNSEEDED_SEARCH, "l2_penalty": '''
from course_lib import regularization as library


def l2_penalty(params, weight_decay):
    return library.l2_penalty(params, weight_decay)
'''},
        {"test_early_stopping", "test_kfold", "test_random_search", "test_l2_value",
         "test_l2_gradient"}),
    # Tampering: make the grader's reference and checks agree with a wrong answer.
    "restore hands the stored arrays to the model; k-fold from the global random state; "
    "log_uniform calls course_lib's LogUniform; penalty without the 1/2, patched into course_lib": (
        {"l2_penalty": """
import course_lib.regularization
import course_lib.testing
""" + l2(value="weight_decay * total")["l2_penalty"] + """

course_lib.regularization.l2_penalty = l2_penalty
course_lib.testing.check_close = lambda *args, **kwargs: None
""",
         **early_stopping(restore="p.value = best"),
         **kfold(order="np.random.seed(seed)\n    order = np.random.permutation(n)"),
         "log_uniform": '''
from course_lib.model_selection import LogUniform


def log_uniform(low, high, size, rng):
    distribution = LogUniform(low, high)
    return np.reshape([distribution.sample(rng) for _ in range(int(np.prod(size)))], size)
'''},
        {"test_early_stopping_restore", "test_kfold", "test_log_uniform", "test_l2_value"}),
}

CORRECT = {
    "loops, a loss history and boolean masks": {
        "l2_penalty": '''
def l2_penalty(params, weight_decay):
    if weight_decay < 0:
        raise ValueError(f"weight_decay={weight_decay} is negative")
    total = 0.0
    grads = []
    for p in params:
        g = np.zeros_like(p.value)
        if p.decay:
            for v in p.value.ravel():
                total += v * v
            g[...] = weight_decay * p.value
        grads.append(g)
    return weight_decay * total / 2, grads
''',
        "early_stopping": '''
import copy


class EarlyStopping:
    def __init__(self, patience):
        if patience < 0:
            raise ValueError("patience must be >= 0")
        self.patience = patience
        self.history = []
        self.best_epoch = None
        self.best_loss = np.inf
        self.saved = None

    def update(self, val_loss, params):
        self.history.append(val_loss)
        epoch = len(self.history)
        if val_loss < self.best_loss:
            self.best_epoch, self.best_loss = epoch, val_loss
            self.saved = copy.deepcopy([p.value for p in params])
            return False
        return epoch - (self.best_epoch or 0) >= self.patience

    def restore(self, params):
        if self.saved is None:
            raise RuntimeError("no epoch has improved yet")
        for p, value in zip(params, self.saved):
            np.copyto(p.value, value)
''',
        "kfold_indices": '''
def kfold_indices(n, k, seed):
    if k < 2 or k > n:
        raise ValueError(f"need 2 <= k <= n, got k={k}, n={n}")
    order = np.arange(n)
    np.random.default_rng(seed).shuffle(order)
    folds = []
    for block in np.array_split(order, k):
        in_fold = np.zeros(n, dtype=bool)
        in_fold[block] = True
        folds.append((np.flatnonzero(~in_fold), block))
    return folds
''',
        "log_uniform": '''
def log_uniform(low, high, size, rng):
    if low <= 0 or high <= low:
        raise ValueError(f"log_uniform needs 0 < low < high, got {low}, {high}")
    return 10.0 ** rng.uniform(np.log10(low), np.log10(high), size)
''',
        "random_search": '''
def random_search(evaluate, space, n_iter, seed):
    if not isinstance(n_iter, int) or n_iter <= 0:
        raise ValueError(f"n_iter={n_iter!r} is not a positive integer")
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_iter):
        params = {}
        for name in space:
            low, high = space[name]
            params[name] = float(log_uniform(low, high, (), rng))
        score = evaluate(params)
        rows.append(dict(params, score=score))
    return rows
''',
    },
    "vectorized, columns first, restore by rebinding to copies": {
        "l2_penalty": '''
def l2_penalty(params, weight_decay):
    if not weight_decay >= 0:
        raise ValueError("weight_decay must be non-negative")
    value = 0.5 * weight_decay * sum(np.vdot(p.value, p.value) for p in params if p.decay)
    return value, [weight_decay * p.value if p.decay else np.zeros(p.value.shape) for p in params]
''',
        "early_stopping": '''
class EarlyStopping:
    def __init__(self, patience):
        if patience < 0:
            raise ValueError("patience cannot be negative")
        self.patience, self.epoch = patience, 0
        self.best_epoch, self.best_loss, self.best = None, np.inf, None

    def update(self, val_loss, params):
        self.epoch += 1
        if val_loss < self.best_loss:
            self.best_epoch, self.best_loss = self.epoch, val_loss
            self.best = [np.array(p.value, copy=True) for p in params]
        since = self.epoch - (self.best_epoch or 0)
        return since > 0 and since >= self.patience

    def restore(self, params):
        if self.best is None:
            raise RuntimeError("nothing to restore")
        for p, best in zip(params, self.best):
            p.value = best.copy()
''',
        "kfold_indices": '''
def kfold_indices(n, k, seed):
    if not (2 <= k <= n):
        raise ValueError(f"k={k} must satisfy 2 <= k <= n={n}")
    order = np.random.default_rng(seed).permutation(n)
    base, extra = divmod(n, k)
    folds = []
    for j in range(k):
        start = j * base + min(j, extra)
        stop = start + base + (j < extra)
        val_idx = order[start:stop]
        folds.append((np.setdiff1d(np.arange(n), val_idx), val_idx))
    return folds
''',
        "log_uniform": '''
def log_uniform(low, high, size, rng):
    if not (low > 0 and high > low):
        raise ValueError(f"bad range low={low}, high={high}")
    return low * (high / low) ** rng.random(size)
''',
        "random_search": '''
def random_search(evaluate, space, n_iter, seed):
    if n_iter < 1:
        raise ValueError("n_iter must be at least 1")
    rng = np.random.default_rng(seed)
    columns = {name: log_uniform(low, high, n_iter, rng) for name, (low, high) in space.items()}
    rows = []
    for i in range(n_iter):
        params = {name: float(values[i]) for name, values in columns.items()}
        rows.append({**params, "score": float(evaluate(params))})
    return rows
''',
    },
    "np.where, a NaN guard, slicing and a dict comprehension": {
        "l2_penalty": '''
def l2_penalty(params, weight_decay):
    if weight_decay < 0:
        raise ValueError(f"l2_penalty: weight_decay must not be negative ({weight_decay})")
    value = sum(np.square(p.value).sum() for p in params if p.decay) * weight_decay / 2
    return value, [np.where(p.decay, weight_decay * p.value, 0.0) for p in params]
''',
        "early_stopping": '''
import math


class EarlyStopping:
    def __init__(self, patience):
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience={patience!r} must be a non-negative integer")
        self.patience = patience
        self.epochs_seen = 0
        self.bad_epochs = 0
        self.best_epoch = None
        self.best_loss = math.inf
        self.snapshot = None

    def update(self, val_loss, params):
        self.epochs_seen += 1
        if not math.isnan(val_loss) and val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, self.epochs_seen, 0
            self.snapshot = [np.copy(p.value) for p in params]
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= max(self.patience, 1)

    def restore(self, params):
        if self.snapshot is None:
            raise RuntimeError("restore() called before any epoch improved")
        for p, saved in zip(params, self.snapshot):
            p.value[:] = saved
''',
        "kfold_indices": '''
def kfold_indices(n, k, seed):
    if k < 2 or k > n:
        raise ValueError(f"kfold_indices: k={k} is not between 2 and n={n}")
    order = np.random.default_rng(seed).permutation(n)
    cuts = [j * (n // k) + min(j, n % k) for j in range(k + 1)]
    return [(np.r_[order[:a], order[b:]], order[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
''',
        "log_uniform": '''
def log_uniform(low, high, size, rng):
    if low <= 0 or low >= high:
        raise ValueError(f"log_uniform: need 0 < low < high, got low={low}, high={high}")
    a, b = np.log(low), np.log(high)
    return np.exp(a + (b - a) * rng.random(size))
''',
        "random_search": '''
def random_search(evaluate, space, n_iter, seed):
    if n_iter < 1:
        raise ValueError(f"random_search: n_iter={n_iter} must be positive")
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_iter):
        params = {name: log_uniform(*bounds, 1, rng).item() for name, bounds in space.items()}
        rows.append(params | {"score": evaluate(dict(params))})
    return rows
''',
    },
}
