"""Grade N generated submissions of one assignment with the course's pipeline and with plain
sequential ``nbgrader autograde``, on the same input, and print submissions per minute for
both, their ratio, and the pipeline's overhead per submission.

    python benchmarks/bench_grading.py                      # 200 submissions of 02-activations
    python benchmarks/bench_grading.py -n 20 --workers 2

The mix is what a class hands in: about 60% correct (the instructor's solution and answers
written differently), 30% with one realistic mistake (tests/assignments/variants), and 10%
broken (empty, not JSON, a syntax error, an import of a missing module, a loop that never
ends). Both runs get the same per-cell time limit. The pipeline's run includes everything it
does on top of nbgrader: the sandbox (where bubblewrap works), the scan and the verification
outside the kernel. Overhead per submission is the pipeline's core-seconds per submission
(wall time x workers / N) minus plain nbgrader's seconds per submission.
"""
from __future__ import annotations

import argparse
import importlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from autograder import grade  # noqa: E402
from autograder.course import copy_course, run_nbgrader  # noqa: E402
from tests.assignments import harness  # noqa: E402

BROKEN = {
    "empty": b"",
    "not json": b'{"cells": [',
}


def variants_module(assignment: str):
    number, name = assignment.split("-", 1)
    return importlib.import_module(f"tests.assignments.variants.{name.replace('-', '_')}_{number}")


def make_submissions(course: Path, assignment: str, n: int, seed: int) -> dict[str, str]:
    """Write ``n`` submissions under course/submitted; returns student -> kind."""
    rng = random.Random(seed)
    source = nbformat.read(harness.notebook_path(course, "source", assignment), as_version=4)
    solution = harness.solution_code(source)
    module = variants_module(assignment)
    solution_ids = list(solution)
    kinds = {}
    for i in range(n):
        student = f"s{i:04d}"
        draw = rng.random()
        if draw < 0.6:
            correct = [{}] + list(module.CORRECT.values())
            harness.submit(course, assignment, student, {**solution, **rng.choice(correct)})
            kinds[student] = "correct"
        elif draw < 0.9:
            cells, _ = rng.choice(list(module.BUGGY.values()))
            harness.submit(course, assignment, student, {**solution, **cells})
            kinds[student] = "buggy"
        else:
            kind = rng.choice(["empty", "not json", "syntax error", "import error", "loop"])
            kinds[student] = kind
            if kind in BROKEN:
                folder = course / "submitted" / student / assignment
                folder.mkdir(parents=True, exist_ok=True)
                name = harness.notebook_path(course, "release", assignment).name
                (folder / name).write_bytes(BROKEN[kind])
                continue
            part = rng.choice(solution_ids)
            code = {"syntax error": "def broken(:\n    pass\n",
                    "import error": "import a_module_that_does_not_exist\n" + solution[part],
                    "loop": solution[part] + "\nwhile True:\n    pass\n"}[kind]
            harness.submit(course, assignment, student, {**solution, part: code})
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="submissions (default: %(default)s)")
    parser.add_argument("--assignment", default="02-activations")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--cell-timeout", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-plain", action="store_true", help="time the pipeline only")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        courses = {}
        for name in ("pipeline", "plain"):
            course = copy_course(Path(scratch) / name)
            run_nbgrader(course, "generate_assignment", args.assignment, "--force")
            kinds = make_submissions(course, args.assignment, args.n, args.seed)
            courses[name] = course
        counts = {k: list(kinds.values()).count(k) for k in sorted(set(kinds.values()))}
        print(f"{args.n} submissions of {args.assignment}: "
              + ", ".join(f"{v} {k}" for k, v in counts.items()))

        limits = grade.Limits(cell_timeout=args.cell_timeout, timeout=20 * args.cell_timeout)
        start = time.perf_counter()
        summary = grade.grade(args.assignment, courses["pipeline"], workers=args.workers,
                              limits=limits, progress=sys.stderr.isatty())
        pipeline = time.perf_counter() - start
        print(summary)
        for record in summary.graded:
            if record["status"].startswith(grade.ERROR):
                print(f"  {record['student']}: {record['reason']}")
        rate = args.n / pipeline * 60
        print(f"pipeline ({args.workers} workers): {pipeline:.1f} s, {rate:.1f} submissions/min")
        if args.skip_plain:
            return 0

        start = time.perf_counter()
        try:
            run_nbgrader(courses["plain"], "autograde", args.assignment, "--force",
                         f"--ExecutePreprocessor.timeout={args.cell_timeout}",
                         timeout=100 * args.n)
        except RuntimeError:
            pass  # plain nbgrader reports the broken submissions as errors; the rest is graded
        plain = time.perf_counter() - start
        plain_rate = args.n / plain * 60
        print(f"plain nbgrader (sequential): {plain:.1f} s, {plain_rate:.1f} submissions/min")
        print(f"ratio: {rate / plain_rate:.2f}x")
        overhead = pipeline * args.workers / args.n - plain / args.n
        print(f"pipeline overhead: {overhead:.2f} core-seconds per submission")
    return 0


if __name__ == "__main__":
    sys.exit(main())
