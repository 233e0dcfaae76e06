"""Assignment 09-batchnorm: realistic mistakes and correct alternatives."""

FORWARD = "test_train_forward"
PARAMETERS = "test_backward_parameters"
INPUT = "test_backward_input"
RUNNING = "test_running_statistics"

UNBIASED_FORWARD = '''
def batchnorm_train_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=1) + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)
'''


def backward(dx_line: str, params: str = "np.sum(dout * x_hat, axis=0), dout.sum(axis=0)") -> str:
    """A backward pass whose dgamma, dbeta are ``params`` and whose dx is ``dx_line``."""
    return f'''
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    n = dout.shape[0]
    dx_hat = dout * gamma
    dx = {dx_line}
    return (dx, {params})
'''


COMPACT_DX = ("(inv_std / n) * (n * dx_hat - dx_hat.sum(axis=0) "
              "- x_hat * np.sum(dx_hat * x_hat, axis=0))")


def running(update: str, evaluate: str = "gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta",
            before: str = "") -> str:
    """A batchnorm_forward whose training-mode update is ``update`` and eval output ``evaluate``."""
    return f'''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    mean, var = x.mean(axis=0), x.var(axis=0)
    {before}
    if not train:
        return {evaluate}, None
    {update}
    return batchnorm_train_forward(x, gamma, beta, eps)
'''


# Each graded cell calls only its own function (Part 4 with the reference in place of Part 1's),
# so a submission can make one mistake in each of several functions, and each mistake shows in
# its own part alone; the parts a submission keeps prove that its mistakes do not leak there.
FORWARD_BUGS = {
    "unbiased variance (ddof=1)": UNBIASED_FORWARD,
    "eps outside the square root": """
def batchnorm_train_forward(x, gamma, beta, eps=1e-5):
    std = x.std(axis=0)
    x_hat = (x - x.mean(axis=0)) / (std + eps)
    return gamma * x_hat + beta, (x_hat, gamma, 1.0 / (std + eps))
""",
    "normalizes each example (axis=1) instead of each feature": """
def batchnorm_train_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)
""",
    "variance as mean(x**2) - mean**2": """
def batchnorm_train_forward(x, gamma, beta, eps=1e-5):
    mean = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt((x ** 2).mean(axis=0) - mean ** 2 + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)
""",
    # Part 4 returns what Part 1 returns: graded with the reference in Part 1's place, it keeps
    # its points.
    "forward returns out without the cache": """
def batchnorm_train_forward(x, gamma, beta, eps=1e-5):
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return gamma * x_hat + beta
""",
}
PARAMETER_BUGS = {
    "dgamma summed over every entry (no axis)": backward(COMPACT_DX, "np.sum(dout * x_hat), dout.sum(axis=0)"),
    "dgamma and dbeta swapped": backward(COMPACT_DX, "dout.sum(axis=0), np.sum(dout * x_hat, axis=0)"),
    "dbeta as a mean over the batch": backward(COMPACT_DX, "np.sum(dout * x_hat, axis=0), dout.mean(axis=0)"),
}
INPUT_BUGS = {
    "batch mean and variance treated as constants": backward("dx_hat * inv_std"),
    "the path through the variance is missing": backward("inv_std * (dx_hat - dx_hat.mean(axis=0))"),
    "the 1/N forgotten": backward("inv_std * (n * dx_hat - dx_hat.sum(axis=0) "
                                  "- x_hat * np.sum(dx_hat * x_hat, axis=0))"),
    "dout scaled in place": """
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    n = dout.shape[0]
    dbeta, dgamma = dout.sum(axis=0), np.sum(dout * x_hat, axis=0)
    dout *= gamma
    dx = (inv_std / n) * (n * dout - dout.sum(axis=0) - x_hat * np.sum(dout * x_hat, axis=0))
    return dx, dgamma, dbeta
""",
}
UPDATE = ("running_mean[:] = (1 - momentum) * running_mean + momentum * mean\n"
          "    running_var[:] = (1 - momentum) * running_var + momentum * var")
RUNNING_BUGS = {
    "momentum reversed": running(
        "running_mean[:] = momentum * running_mean + (1 - momentum) * mean\n"
        "    running_var[:] = momentum * running_var + (1 - momentum) * var"),
    "running statistics rebound, not updated in place": running(UPDATE.replace("[:]", "")),
    "running variance unbiased (PyTorch's convention)": running(
        UPDATE.replace("* var", "* x.var(axis=0, ddof=1)")),
    "evaluation mode normalizes with the batch statistics": running(
        UPDATE, evaluate="batchnorm_train_forward(x, gamma, beta, eps)[0]"),
    "running statistics updated in evaluation mode too": running("pass", before=UPDATE),
}
# Each mistake loses the part of the dictionary it is in.
PARTS = [(FORWARD_BUGS, "batchnorm_train_forward", FORWARD), (PARAMETER_BUGS, "batchnorm_backward", PARAMETERS),
         (INPUT_BUGS, "batchnorm_backward", INPUT), (RUNNING_BUGS, "batchnorm_forward", RUNNING)]


def submission(*mistakes: str) -> tuple[str, tuple[dict, set]]:
    """A submission making each named mistake (in different functions); it loses their parts."""
    cells, lost = {}, set()
    for mistake in mistakes:
        ((bugs, function, part),) = [entry for entry in PARTS if mistake in entry[0]]
        assert function not in cells, f"{mistakes}: two mistakes in {function}"
        cells[function] = bugs[mistake]
        lost.add(part)
    return " + ".join(mistakes), (cells, lost)


BUGGY = dict([
    submission("unbiased variance (ddof=1)", "batch mean and variance treated as constants"),
    submission("forward returns out without the cache", "the 1/N forgotten"),
    submission("eps outside the square root", "dgamma summed over every entry (no axis)", "momentum reversed"),
    submission("normalizes each example (axis=1) instead of each feature",
               "the path through the variance is missing", "running statistics rebound, not updated in place"),
    submission("variance as mean(x**2) - mean**2", "dgamma and dbeta swapped",
               "running variance unbiased (PyTorch's convention)"),
    submission("evaluation mode normalizes with the batch statistics", "dout scaled in place"),
    submission("running statistics updated in evaluation mode too", "dbeta as a mean over the batch"),
])
# Passes the student's own gradient check: the backward is the exact derivative of the forward
# with the unbiased variance. Both parts must be lost.
BUGGY["a consistent forward/backward pair for the unbiased variance"] = ({
    "batchnorm_train_forward": UNBIASED_FORWARD,
    "batchnorm_backward": backward("inv_std * (dx_hat - dx_hat.mean(axis=0)) "
                                   "- inv_std / (n - 1) * x_hat * np.sum(dx_hat * x_hat, axis=0)"),
}, {FORWARD, INPUT})

CORRECT = {
    # Loops over features; dx through the explicit N x N Jacobian of x_hat, as in the chapter.
    "loops and the explicit Jacobian": {
        "batchnorm_train_forward": '''
def batchnorm_train_forward(x, gamma, beta, eps=1e-5):
    n, d = x.shape
    x_hat, inv_std = np.empty((n, d)), np.empty(d)
    for j in range(d):
        column = x[:, j]
        mu = sum(column) / n
        inv_std[j] = 1.0 / np.sqrt(np.dot(column - mu, column - mu) / n + eps)
        x_hat[:, j] = (column - mu) * inv_std[j]
    return gamma * x_hat + beta, (x_hat, gamma, inv_std)
''',
        "batchnorm_backward": '''
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    n, d = dout.shape
    dx = np.zeros((n, d))
    for j in range(d):
        s, h = inv_std[j], x_hat[:, j]
        jacobian = s * (np.eye(n) - 1.0 / n) - (s / n) * np.outer(h, h)  # d x_hat_k / d x_i
        dx[:, j] = jacobian.T @ (gamma[j] * dout[:, j])
    dgamma = np.array([np.dot(dout[:, j], x_hat[:, j]) for j in range(d)])
    dbeta = np.array([sum(dout[:, j]) for j in range(d)])
    return dx, dgamma, dbeta
''',
        "batchnorm_forward": '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    if train:
        n = len(x)
        for j in range(x.shape[1]):
            mu = np.mean(x[:, j])
            running_mean[j] = (1 - momentum) * running_mean[j] + momentum * mu
            running_var[j] = (1 - momentum) * running_var[j] + momentum * np.sum((x[:, j] - mu) ** 2) / n
        return batchnorm_train_forward(x, gamma, beta, eps)
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        out[:, j] = gamma[j] * (x[:, j] - running_mean[j]) / np.sqrt(running_var[j] + eps) + beta[j]
    return out, None
''',
    },
    # Backpropagation node by node through the graph, keepdims statistics (inv_std of shape
    # (1, D)), and a debugging print to stderr, which must not cost points.
    "step-by-step graph backward": {
        "batchnorm_train_forward": '''
def batchnorm_train_forward(x, gamma, beta, eps=1e-5):
    centered = x - np.mean(x, axis=0, keepdims=True)
    inv_std = 1.0 / np.sqrt(np.mean(centered ** 2, axis=0, keepdims=True) + eps)
    x_hat = centered * inv_std
    return x_hat * gamma + beta, (x_hat, gamma, inv_std)
''',
        "batchnorm_backward": '''
import sys


def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    print("backward of a batch of", dout.shape, file=sys.stderr)
    n = dout.shape[0]
    std = 1.0 / inv_std                                  # sqrt(var + eps)
    centered = x_hat * std                               # x - mu
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    d_inv_std = np.sum(dx_hat * centered, axis=0)        # x_hat = centered * inv_std
    d_centered = dx_hat * inv_std
    d_std = -d_inv_std / std ** 2                        # inv_std = 1 / std
    d_var = 0.5 * d_std / std                            # std = sqrt(var + eps)
    d_centered = d_centered + 2.0 * centered * d_var / n  # var = mean(centered ** 2)
    d_mu = -np.sum(d_centered, axis=0)                   # centered = x - mu
    dx = d_centered + d_mu / n                           # mu = mean(x)
    return dx, dgamma, dbeta
''',
        "batchnorm_forward": '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    if not train:
        return (x - running_mean) * (gamma / np.sqrt(running_var + eps)) + beta, None
    out, cache = batchnorm_train_forward(x, gamma, beta, eps)
    np.copyto(running_mean, (1 - momentum) * running_mean + momentum * np.mean(x, axis=0))
    np.copyto(running_var, (1 - momentum) * running_var + momentum * np.var(x, axis=0))
    return out, cache
''',
    },
    # The compact formula with means instead of sums over N; evaluation as the fixed affine map
    # x * scale + shift of the chapter; Part 4 computing everything without Part 1.
    "means, and evaluation as an affine map": {
        "batchnorm_train_forward": '''
def batchnorm_train_forward(x, gamma, beta, eps=1e-5):
    x = np.asarray(x, dtype=float)
    inv_std = (np.var(x, axis=0) + eps) ** -0.5
    x_hat = (x - np.mean(x, axis=0)) * inv_std
    return x_hat * gamma + beta, (x_hat, gamma, inv_std)
''',
        "batchnorm_backward": '''
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache
    dx_hat = gamma * dout
    dx = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))
    return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
''',
        "batchnorm_forward": '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, train, momentum=0.1, eps=1e-5):
    if train:
        mean, var = x.mean(axis=0), x.var(axis=0)
        running_mean += momentum * (mean - running_mean)
        running_var += momentum * (var - running_var)
        inv_std = 1.0 / np.sqrt(var + eps)
        x_hat = (x - mean) * inv_std
        return gamma * x_hat + beta, (x_hat, gamma, inv_std)
    scale = gamma / np.sqrt(running_var + eps)
    return x * scale + (beta - running_mean * scale), None
''',
    },
}
