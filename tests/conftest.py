"""Suite-wide settings.

One BLAS thread per test process: the suite runs its workers in parallel (pytest-xdist), and
OpenBLAS threads that spin while competing for the same cores make small matrix products a
hundred times slower (measured: 18.6 s instead of 0.18 s for ten MNIST-1D epochs).
"""
import matplotlib
from threadpoolctl import threadpool_limits

matplotlib.use("Agg")  # tests draw figures without a display
threadpool_limits(1)
