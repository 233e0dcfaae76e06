"""Time one MLP's training with course_lib, PyTorch (CPU) and scikit-learn.

Every framework trains the same network (D-H-H-C with ReLU, mean softmax cross-entropy, plain
SGD or momentum) on the same synthetic data, in the same order, with the same mini-batches,
the same number of BLAS/OpenMP threads and the same floating-point type. course_lib and
PyTorch even start from the same weights, so their training losses agree (to rounding), which
shows that they do the same work. The script prints, per dtype and framework, the median time
per epoch, the ratio to PyTorch, and the fraction of the machine's matrix-multiply throughput
reached: the FLOPs of the matrix products a training step needs (forward, dW of every layer,
dx of every layer but the first) divided by the step time, over the rate numpy's BLAS reaches
on exactly those products timed alone. That fraction is the share of a step spent in useful
matrix products; the rest is elementwise work, temporaries and Python.

    python benchmarks/bench_mlp.py                 # defaults: 30720 x 784, 512-512, 5 epochs
    python benchmarks/bench_mlp.py --dtype float32 --threads 1
    python benchmarks/bench_mlp.py --quick         # tiny smoke test, a few seconds

PyTorch and scikit-learn are optional: a missing one is reported and its rows skipped.
PyTorch is never a dependency of the project; install a CPU build to compare against it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from course_lib import losses, nn, optim  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

try:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
except ImportError:
    MLPClassifier = None

try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

TARGET_RATIO = 1.1  # the goal: course_lib at most 10% slower than PyTorch on the CPU


def make_problem(n_samples, n_features, n_classes, dtype, seed=0):
    """A separable-ish classification problem: labels of a random linear teacher plus noise.

    Returns X (n_samples, n_features) of ``dtype`` and y (n_samples,) integer labels.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    teacher = rng.standard_normal((n_features, n_classes)) / np.sqrt(n_features)
    y = np.argmax(X @ teacher + 0.5 * rng.standard_normal((n_samples, n_classes)), axis=1)
    return X.astype(dtype), y


def time_epochs(trainers, epochs, warmup):
    """Time the epochs of several trainers, interleaved: {name: (median seconds, last loss)}.

    ``trainers`` maps names to ``run_epoch() -> loss``. After ``warmup`` untimed rounds, each
    of ``epochs`` rounds runs one epoch of every trainer in turn, so that a load from other
    processes that comes and goes slows them all alike and their ratio stays meaningful.
    """
    for _ in range(warmup):
        for run_epoch in trainers.values():
            run_epoch()
    times = {name: [] for name in trainers}
    losses_ = {name: float("nan") for name in trainers}
    for _ in range(epochs):
        for name, run_epoch in trainers.items():
            start = time.perf_counter()
            losses_[name] = run_epoch()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), losses_[name]) for name in trainers}


# --- the three trainers: each returns run_epoch() -> mean training loss of the epoch -------

def course_lib_trainer(X, y, sizes, args, dtype):
    model = nn.mlp(sizes, seed=args.seed, dtype=dtype)
    optimizer = (optim.Momentum(model.parameters(), lr=args.lr, momentum=args.momentum)
                 if args.momentum else optim.SGD(model.parameters(), lr=args.lr))

    def run_epoch():
        total = 0.0
        for start in range(0, len(X), args.batch_size):
            scores = model.forward(X[start:start + args.batch_size])
            loss, dscores = losses.softmax_cross_entropy(scores, y[start:start + args.batch_size])
            # No gradient with respect to the data, as PyTorch computes none for its inputs.
            model.backward(dscores, input_grad=False)
            optimizer.step()
            total += loss
        return total / n_batches(len(X), args.batch_size)

    return model, run_epoch


def torch_trainer(X, y, course_lib_model, args, dtype):
    """PyTorch's equivalent of ``course_lib_model``, starting from the same weights."""
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    layers = []
    for module in course_lib_model.modules:
        if isinstance(module, nn.Linear):
            linear = torch.nn.Linear(module.in_features, module.out_features, dtype=torch_dtype)
            with torch.no_grad():  # torch stores W as (out, in): the transpose of ours
                linear.weight.copy_(torch.from_numpy(module.W.value.T))
                linear.bias.copy_(torch.from_numpy(module.b.value))
            layers.append(linear)
        else:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def run_epoch():
        total = 0.0
        for start in range(0, len(X), args.batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(Xt[start:start + args.batch_size]),
                           yt[start:start + args.batch_size])
            loss.backward()
            optimizer.step()
            total += loss.item()
        return total / n_batches(len(X), args.batch_size)

    return run_epoch


def sklearn_trainer(X, y, args):
    """scikit-learn's MLPClassifier, one partial_fit (one pass over X in order) per epoch."""
    model = MLPClassifier(hidden_layer_sizes=(args.hidden,) * 2, solver="sgd",
                          batch_size=args.batch_size, learning_rate_init=args.lr,
                          momentum=args.momentum, nesterovs_momentum=False, alpha=0.0,
                          shuffle=False, random_state=args.seed)
    classes = np.arange(args.classes)

    def run_epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X, y, classes=classes)
        return model.loss_

    return run_epoch


# --- the matrix-multiply peak -------------------------------------------------------------

def step_gemms(sizes, batch_size):
    """The matrix products of one training step, as (M, K, N) for A (M, K) @ B (K, N)."""
    shapes = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes.append(("x @ W", (batch_size, fan_in, fan_out)))
        shapes.append(("x.T @ dout", (fan_in, batch_size, fan_out)))
        if i > 0:  # nobody needs the gradient with respect to the data
            shapes.append(("dout @ W.T", (batch_size, fan_out, fan_in)))
    return shapes


def gemm_peak(sizes, batch_size, dtype, repeats=50, seed=0):
    """FLOPs of one step's products and the seconds numpy takes for them alone.

    Each product is timed with the memory layout the training step uses (transposed views
    included) and the median of ``repeats`` runs kept, so the sum is a step's GEMM time at the
    best rate this BLAS reaches on these shapes.
    """
    rng = np.random.default_rng(seed)
    flops = seconds = 0.0
    for kind, (m, k, n) in step_gemms(sizes, batch_size):
        if kind == "x @ W":
            a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        elif kind == "x.T @ dout":
            a, b = rng.standard_normal((k, m)).T, rng.standard_normal((k, n))
        else:
            a, b = rng.standard_normal((m, k)), rng.standard_normal((n, k)).T
        a, b = a.astype(dtype), b.astype(dtype)
        a @ b  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
        flops += 2.0 * m * n * k
        seconds += statistics.median(times)
    return flops, seconds


def n_batches(n_samples, batch_size):
    return -(-n_samples // batch_size)


# --- main ---------------------------------------------------------------------------------

def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--epochs", type=positive_int, default=5,
                        help="timed epochs (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    parser.add_argument("--n-samples", type=positive_int, default=30720)
    parser.add_argument("--features", type=positive_int, default=784, help="input width D")
    parser.add_argument("--hidden", type=positive_int, default=512,
                        help="width of both hidden layers")
    parser.add_argument("--classes", type=positive_int, default=10)
    parser.add_argument("--batch-size", type=positive_int, default=128)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.0, help="0 for plain SGD")
    parser.add_argument("--threads", type=positive_int, default=os.cpu_count() or 1,
                        help="BLAS and PyTorch threads (default: all cores)")
    parser.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn (slowest)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes: a smoke test of the script, not a measurement")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.warmup, args.n_samples = 2, 1, 1024
        args.features, args.hidden, args.batch_size = 32, 32, 128
    return args


def main(argv=None):
    args = parse_args(argv)
    sizes = [args.features, args.hidden, args.hidden, args.classes]
    dtypes = [np.float64, np.float32] if args.dtype == "both" else [np.dtype(args.dtype).type]
    steps = n_batches(args.n_samples, args.batch_size)

    print(f"MLP {'-'.join(map(str, sizes))} (ReLU), softmax cross-entropy, "
          f"{'momentum ' + str(args.momentum) if args.momentum else 'plain SGD'}, "
          f"lr {args.lr}, batch {args.batch_size}")
    print(f"{args.n_samples} samples = {steps} steps per epoch; median of {args.epochs} "
          f"epochs after {args.warmup} warm-up; {args.threads} thread(s); numpy {np.__version__}"
          + (f", torch {torch.__version__}" if torch is not None else ""))
    if torch is None:
        print("note: PyTorch is not installed: its rows are skipped "
              "(pip install torch, a CPU build, to compare)")
    else:
        torch.set_num_threads(args.threads)
    if MLPClassifier is None:
        print("note: scikit-learn is not installed: its rows are skipped")
    if threadpool_limits is None:
        print("note: threadpoolctl is not installed: the BLAS thread count is not controlled")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > 0.5:
        print(f"note: load average {load:.1f}: other processes compete for the cores, so times "
              f"are noisy\n(epochs are interleaved, which keeps ratios fairer than absolute times)")
    limits = (threadpool_limits(limits=args.threads) if threadpool_limits is not None
              else nullcontext())

    header = (f"{'dtype':8} {'framework':13} {'s/epoch':>9} {'ms/step':>8} {'GFLOP/s':>8} "
              f"{'of peak':>8} {'/PyTorch':>9} {'last loss':>10}")
    rows, verdicts = [header, "-" * len(header)], []
    with limits:
        for dtype in dtypes:
            name = np.dtype(dtype).name
            X, y = make_problem(args.n_samples, args.features, args.classes, dtype, args.seed)
            flops, gemm_seconds = gemm_peak(sizes, args.batch_size, dtype)
            peak = flops / gemm_seconds
            model, run_course_lib = course_lib_trainer(X, y, sizes, args, dtype)
            trainers = {"course_lib": run_course_lib}
            if torch is not None:
                trainers["PyTorch"] = torch_trainer(X, y, model, args, dtype)
            if MLPClassifier is not None and not args.no_sklearn:
                trainers["scikit-learn"] = sklearn_trainer(X, y, args)
            results = time_epochs(trainers, args.epochs, args.warmup)

            for framework, (seconds, loss) in results.items():
                rate = flops * steps / seconds
                ratio = (f"{seconds / results['PyTorch'][0]:8.2f}x" if "PyTorch" in results
                         else f"{'-':>9}")
                rows.append(f"{name:8} {framework:13} {seconds:9.3f} {1e3 * seconds / steps:8.2f} "
                            f"{rate / 1e9:8.1f} {rate / peak:8.0%} {ratio} {loss:10.6f}")
            rows.append(f"{name:8} {'GEMMs alone':13} {gemm_seconds * steps:9.3f} "
                        f"{1e3 * gemm_seconds:8.2f} {peak / 1e9:8.1f} {1:8.0%}")
            if "PyTorch" in results:
                ratio = results["course_lib"][0] / results["PyTorch"][0]
                verdicts.append(f"{name}: course_lib / PyTorch = {ratio:.2f} "
                                f"({'within' if ratio <= TARGET_RATIO else 'above'} the "
                                f"{TARGET_RATIO}x target)")
    print()
    print("\n".join(rows))
    print()
    print("GFLOP/s counts the matrix products a step needs (forward, dW, dx but the first "
          "layer's);\n'of peak' divides it by the rate of 'GEMMs alone': numpy timing exactly "
          "those products.")
    if args.quick:
        print("--quick: tiny sizes, a smoke test of this script; the figures mean nothing")
    else:
        print("\n".join(verdicts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
