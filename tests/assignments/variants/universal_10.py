"""Assignment 10-universal: realistic mistakes and correct alternatives.

Every mistake below is one student's bug in one function. To keep the grading run short, each
graded submission combines mistakes in different functions (``variants.combine``): it must lose
exactly the parts of its mistakes, which also proves that a bug in one part costs no other
(part 3 uses parts 1 and 2, and keeps its points when they are wrong).
"""

from . import combine

NETWORK = "test_interpolating_network"
ERROR = "test_sup_error"
TABLE = "test_width_error_table"
RATE = "test_fitted_rate"

_MISTAKES = {
    # The chapter's network: K units for K + 1 knots, so it keeps the last slope beyond t_K.
    "the chapter's construction, without the unit at the last knot": ({"interpolating_network": '''
def interpolating_network(knots, values):
    slopes = np.diff(values) / np.diff(knots)
    network = nn.mlp([1, len(slopes), 1])
    network[0].W.value[:] = 1.0
    network[0].b.value[:] = -knots[:-1]
    network[2].W.value[:, 0] = np.diff(slopes, prepend=0.0)
    network[2].b.value[:] = values[0]
    return network
'''}, {NETWORK}),
    "network without the output bias y_0": ({"interpolating_network": '''
def interpolating_network(knots, values):
    slopes = np.diff(values) / np.diff(knots)
    network = nn.mlp([1, len(knots), 1])
    network[0].W.value[:] = 1.0
    network[0].b.value[:] = -knots
    network[2].W.value[:, 0] = np.diff(slopes, prepend=0.0, append=0.0)
    network[2].b.value[:] = 0.0
    return network
'''}, {NETWORK}),
    "kinks at -t_k: bias +t_k": ({"interpolating_network": '''
def interpolating_network(knots, values):
    slopes = np.diff(values) / np.diff(knots)
    network = nn.mlp([1, len(knots), 1])
    network[0].W.value[:] = 1.0
    network[0].b.value[:] = knots
    network[2].W.value[:, 0] = np.diff(slopes, prepend=0.0, append=0.0)
    network[2].b.value[:] = values[0]
    return network
'''}, {NETWORK}),
    "output weights are the slopes, not their changes": ({"interpolating_network": '''
def interpolating_network(knots, values):
    slopes = np.diff(values) / np.diff(knots)
    network = nn.mlp([1, len(knots), 1])
    network[0].W.value[:] = 1.0
    network[0].b.value[:] = -knots
    network[2].W.value[:, 0] = np.append(slopes, 0.0)
    network[2].b.value[:] = values[0]
    return network
'''}, {NETWORK}),
    # Right values everywhere, but not a network: no weights to count, nothing to train.
    "np.interp wrapped in a function instead of a network": ({"interpolating_network": '''
def interpolating_network(knots, values):
    return lambda x: np.interp(x, knots, values)
'''}, {NETWORK}),
    "error of (M,) minus (M, 1): an (M, M) matrix": ({"sup_error": '''
def sup_error(f, F, low, high, n_points=2001):
    x = np.linspace(low, high, n_points)
    return float(np.max(np.abs(f(x) - F(x[:, None]))))
'''}, {ERROR}),
    "mean error instead of the largest": ({"sup_error": '''
def sup_error(f, F, low, high, n_points=2001):
    x = np.linspace(low, high, n_points)
    return float(np.mean(np.abs(f(x) - F(x[:, None])[:, 0])))
'''}, {ERROR}),
    "largest signed difference, without abs": ({"sup_error": '''
def sup_error(f, F, low, high, n_points=2001):
    x = np.linspace(low, high, n_points)
    return float(np.max(f(x) - F(x[:, None])[:, 0]))
'''}, {ERROR}),
    "grid size hard-coded": ({"sup_error": '''
def sup_error(f, F, low, high, n_points=2001):
    x = np.linspace(low, high, 2001)
    return float(np.max(np.abs(f(x) - F(x[:, None])[:, 0])))
'''}, {ERROR}),
    "grid without its right end": ({"sup_error": '''
def sup_error(f, F, low, high, n_points=2001):
    x = np.linspace(low, high, n_points, endpoint=False)
    return float(np.max(np.abs(f(x) - F(x[:, None])[:, 0])))
'''}, {ERROR}),
    # The chapter's count: K units for K + 1 knots.
    "one knot more than units (the chapter's count)": ({"width_error_table": '''
def width_error_table(f, widths, low, high):
    errors = []
    for h in widths:
        knots = np.linspace(low, high, h + 1)
        errors.append(sup_error(f, interpolating_network(knots, f(knots)), low, high))
    return np.array(errors)
'''}, {TABLE}),
    "the interval fixed to [-1, 1]": ({"width_error_table": '''
def width_error_table(f, widths, low, high):
    errors = []
    for h in widths:
        knots = np.linspace(-1, 1, h)
        errors.append(sup_error(f, interpolating_network(knots, f(knots)), -1, 1))
    return np.array(errors)
'''}, {TABLE}),
    "rate from the first and last points only": ({"fitted_rate": '''
def fitted_rate(widths, errors):
    return (np.log(errors[-1]) - np.log(errors[0])) / (np.log(widths[-1]) - np.log(widths[0]))
'''}, {RATE}),
    "rate is the fit's intercept": ({"fitted_rate": '''
def fitted_rate(widths, errors):
    return np.polyfit(np.log(widths), np.log(errors), 1)[1]
'''}, {RATE}),
    "log10 of the widths, natural log of the errors": ({"fitted_rate": '''
def fitted_rate(widths, errors):
    return np.polyfit(np.log10(widths), np.log(errors), 1)[0]
'''}, {RATE}),
    "widths not on a logarithmic axis": ({"fitted_rate": '''
def fitted_rate(widths, errors):
    return np.polyfit(widths, np.log(errors), 1)[0]
'''}, {RATE}),
}


BUGGY = combine(_MISTAKES, [
    ("the chapter's construction, without the unit at the last knot",
     "error of (M,) minus (M, 1): an (M, M) matrix", "rate from the first and last points only"),
    ("network without the output bias y_0", "mean error instead of the largest",
     "one knot more than units (the chapter's count)"),
    ("kinks at -t_k: bias +t_k", "largest signed difference, without abs",
     "rate is the fit's intercept"),
    ("output weights are the slopes, not their changes", "grid size hard-coded",
     "the interval fixed to [-1, 1]", "log10 of the widths, natural log of the errors"),
    ("np.interp wrapped in a function instead of a network", "grid without its right end",
     "widths not on a logarithmic axis"),
])
assert len({n for names in BUGGY for n in names.split(" + ")}) == len(_MISTAKES), "a mistake left out"

CORRECT = {
    "loops": {
        "interpolating_network": '''
def interpolating_network(knots, values):
    k = len(knots)
    network = nn.mlp([1, k, 1])
    previous_slope = 0.0
    for i in range(k):
        slope = (values[i + 1] - values[i]) / (knots[i + 1] - knots[i]) if i < k - 1 else 0.0
        network[0].W.value[0, i] = 1.0
        network[0].b.value[i] = -knots[i]
        network[2].W.value[i, 0] = slope - previous_slope
        previous_slope = slope
    network[2].b.value[0] = values[0]
    return network
''',
        "sup_error": '''
def sup_error(f, F, low, high, n_points=2001):
    worst = 0.0
    x = np.linspace(low, high, n_points)
    target, approximation = f(x), F(x.reshape(-1, 1)).ravel()
    for a, b in zip(target, approximation):
        worst = max(worst, abs(a - b))
    return worst
''',
        "width_error_table": '''
def width_error_table(f, widths, low, high):
    return np.array([sup_error(f, interpolating_network(np.linspace(low, high, h),
                                                        f(np.linspace(low, high, h))), low, high)
                     for h in widths])
''',
        "fitted_rate": '''
def fitted_rate(widths, errors):
    u, v = np.log10(np.asarray(widths, dtype=float)), np.log10(np.asarray(errors, dtype=float))
    u, v = u - u.mean(), v - v.mean()
    return float(np.sum(u * v) / np.sum(u * u))
''',
    },
    "scaled units built by hand, (M, 1) shapes, lstsq": {
        # ReLU(2 (x - t_k)) / 2 is ReLU(x - t_k): any positive scale of a unit works.
        "interpolating_network": '''
def interpolating_network(knots, values):
    knots, values = np.asarray(knots, dtype=float), np.asarray(values, dtype=float)
    slopes = np.concatenate([[0.0], np.diff(values) / np.diff(knots), [0.0]])
    network = nn.Sequential(nn.Linear(1, len(knots)), nn.ReLU(), nn.Linear(len(knots), 1))
    network[0].W.value[...] = 2.0
    network[0].b.value[...] = -2.0 * knots
    network[2].W.value[...] = (slopes[1:] - slopes[:-1])[:, None] / 2.0
    network[2].b.value[...] = values[0]
    return network
''',
        "sup_error": '''
def sup_error(f, F, low, high, n_points=2001):
    x = np.linspace(low, high, n_points).reshape(-1, 1)
    return np.abs(f(x) - F(x)).max()
''',
        "fitted_rate": '''
def fitted_rate(widths, errors):
    A = np.column_stack([np.log(widths), np.ones(len(widths))])
    return np.linalg.lstsq(A, np.log(errors), rcond=None)[0][0]
''',
    },
    "units that face left, ReLU(t_k - x), from the right end": {
        # Right of t_K every unit is off and F = y_K; the output weights are the same slope changes.
        "interpolating_network": '''
def interpolating_network(knots, values):
    slopes = np.diff(values) / np.diff(knots)
    network = nn.mlp([1, len(knots), 1])
    network[0].W.value[:] = -1.0
    network[0].b.value[:] = knots
    network[2].W.value[:, 0] = np.diff(np.concatenate([[0.0], slopes, [0.0]]))
    network[2].b.value[:] = values[-1]
    return network
''',
    },
}
