"""The benchmark script runs end to end (on tiny sizes); the speed figures themselves are
printed by the script, not asserted here."""
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_mlp.py"


def test_benchmark_quick_run_prints_a_table():
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "course_lib" in result.stdout and "s/epoch" in result.stdout
