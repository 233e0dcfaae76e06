"""Assignment 05-initialization: realistic mistakes and correct alternatives."""

BUGGY = {
    # The variance where the bound belongs: Var = r^2 / 3 is then a third of Glorot's.
    "uniform bound set to the variance formula": ({"glorot_uniform": '''
def glorot_uniform(fan_in, fan_out, rng):
    r = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, size=(fan_in, fan_out))
'''}, {"test_glorot_uniform"}),
    # The right distribution, but transposed: (fan_out, fan_in).
    "uniform with the shape the wrong way round": ({"glorot_uniform": '''
def glorot_uniform(fan_in, fan_out, rng):
    r = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, size=(fan_out, fan_in))
'''}, {"test_glorot_uniform"}),
    "uniform from numpy's global generator": ({"glorot_uniform": '''
def glorot_uniform(fan_in, fan_out, rng):
    r = np.sqrt(6.0 / (fan_in + fan_out))
    return np.random.uniform(-r, r, size=(fan_in, fan_out))
'''}, {"test_glorot_uniform"}),
    # rng.normal's scale is a standard deviation: this draws with std 2 / (fan_in + fan_out).
    "normal given the variance as its scale": ({"glorot_normal": '''
def glorot_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, 2.0 / (fan_in + fan_out), size=(fan_in, fan_out))
'''}, {"test_glorot_normal"}),
    # The right variance from the wrong distribution.
    "glorot normal drawn from a uniform": ({"glorot_normal": '''
def glorot_normal(fan_in, fan_out, rng):
    r = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, size=(fan_in, fan_out))
'''}, {"test_glorot_normal"}),
    "a generator of its own with a fixed seed": ({"glorot_normal": '''
def glorot_normal(fan_in, fan_out, rng):
    rng = np.random.default_rng(0)
    return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
'''}, {"test_glorot_normal"}),
    "he normal with the fan-out": ({"he_normal": '''
def he_normal(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_out), size=(fan_in, fan_out))
'''}, {"test_he_normal"}),
    "he normal without the factor of two": ({"he_normal": '''
def he_normal(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
'''}, {"test_he_normal"}),
    "he normal delegates to course_lib": ({"he_normal": '''
from course_lib import init as _init

def he_normal(fan_in, fan_out, rng):
    return _init.he_normal(fan_in, fan_out, seed=rng)
'''}, {"test_he_normal"}),
    # The std of each unit's weights over its inputs: nonzero even for identical units.
    "spread over the wrong axis": ({"spread": '''
def spread(W):
    return float(np.max(np.std(W, axis=0)))


def hidden_spreads(model):
    linears = [m for m in model.modules if isinstance(m, nn.Linear)]
    return np.array([spread(m.W.value) for m in linears[:-1]])
'''}, {"test_spread"}),
    "spreads include the output layer": ({"spread": '''
def spread(W):
    return float(np.max(np.std(W, axis=1)))


def hidden_spreads(model):
    return np.array([spread(m.W.value) for m in model.modules if isinstance(m, nn.Linear)])
'''}, {"test_spread"}),
    "stds of the pre-activations": ({"activation_stds": '''
def activation_stds(model, X):
    stds, h = [], X
    for i, module in enumerate(model.modules):
        h = module.forward(h)
        if i + 1 < len(model.modules) and isinstance(model.modules[i + 1], nn.Activation):
            stds.append(np.std(h))
    return np.array(stds)
'''}, {"test_activation_stds"}),
    # The mean over units of each unit's std across the batch: it ignores how the units differ
    # from each other (and is 0 for a batch of one example).
    "per-unit stds averaged": ({"activation_stds": '''
def activation_stds(model, X):
    stds, h = [], X
    for module in model.modules:
        h = module.forward(h)
        if isinstance(module, nn.Activation):
            stds.append(np.std(h, axis=0).mean())
    return np.array(stds)
'''}, {"test_activation_stds"}),
    # Tampering: the reference and the checks rebound to agree with a wrong initializer (hidden
    # tests reload them).
    "he normal that rebinds the reference and the checks": ({"he_normal": '''
import course_lib.init
import course_lib.testing


def he_normal(fan_in, fan_out, rng):
    return rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)


course_lib.init.he_normal = lambda fan_in, fan_out, seed=None: he_normal(fan_in, fan_out, np.random.default_rng(seed))
course_lib.testing.check_close = lambda *args, **kwargs: None
'''}, {"test_he_normal"}),
}

CORRECT = {
    "other samplers": {
        "glorot_uniform": '''
def glorot_uniform(fan_in, fan_out, rng):
    limit = (6 / (fan_in + fan_out)) ** 0.5
    return limit * (2 * rng.random((fan_in, fan_out)) - 1)
''',
        "glorot_normal": '''
def glorot_normal(fan_in, fan_out, rng):
    return rng.normal(loc=0, scale=(2 / (fan_in + fan_out)) ** 0.5, size=(fan_in, fan_out))
''',
        "he_normal": '''
def he_normal(fan_in, fan_out, rng):
    # drawn unit by unit, then stacked as columns
    return np.stack([rng.normal(0, np.sqrt(2 / fan_in), fan_in) for _ in range(fan_out)], axis=1)
''',
    },
    "transposed draws and loops": {
        "glorot_uniform": '''
def glorot_uniform(fan_in, fan_out, rng):
    r = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, size=(fan_out, fan_in)).T.copy()
''',
        "glorot_normal": '''
def glorot_normal(fan_in, fan_out, rng):
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return (rng.standard_normal(fan_in * fan_out) * std).reshape(fan_in, fan_out)
''',
        "spread": '''
def spread(W):
    best = 0.0
    for row in np.asarray(W):
        mean = sum(row) / len(row)
        best = max(best, (sum((v - mean) ** 2 for v in row) / len(row)) ** 0.5)
    return best


def hidden_spreads(model):
    found = []
    for module in model.modules:
        if type(module).__name__ == "Linear":
            found.append(module)
    return [spread(layer.W.value) for layer in found[:len(found) - 1]]
''',
        "activation_stds": '''
def activation_stds(model, X):
    out = []
    for module in model.modules:
        X = module(X)
        if isinstance(module, nn.Activation):
            out.append(float(np.sqrt(np.mean((X - X.mean()) ** 2))))
    return out
''',
    },
    "he normal through the Glorot recipe's shape": {
        "he_normal": '''
def he_normal(fan_in, fan_out, rng):
    W = np.empty((fan_in, fan_out))
    W[...] = rng.standard_normal(W.shape)
    W *= np.sqrt(2.0 / W.shape[0])
    return W
''',
    },
}
