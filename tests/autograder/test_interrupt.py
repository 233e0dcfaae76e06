"""``python -m autograder grade`` interrupted with Ctrl-C, and two grading runs at once.

Ctrl-C at a terminal sends SIGINT to the command's whole process group: the parent and its
pool workers (nbgrader runs and kernels have sessions of their own). The command must stop
promptly, leave no process behind, lose no result it had recorded, and a second run must
grade exactly the rest. Two instructors grading two assignments of one course at the same
time, sandboxed, must both get every submission graded and one consistent gradebook.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from autograder import grade, sandbox
from autograder.course import release
from tests.assignments import harness

from . import submissions as subs
from .submissions import ASSIGNMENT, NOTEBOOK

ROOT = Path(__file__).resolve().parents[2]
LIMITS = grade.Limits(cell_timeout=20, timeout=150, memory_bytes=1536 * 2**20)


def _processes_under(folder: Path) -> list[str]:
    """Command lines of the live processes whose command line or working directory is in
    ``folder`` (every scratch folder of a run lives there when TMPDIR points to it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
            state = next(line for line in (proc / "status").read_text().splitlines()
                         if line.startswith("State:"))
        except (OSError, StopIteration):
            continue  # ended meanwhile, or not ours to read
        if "zombie" not in state and (str(folder) in cmdline or cwd.startswith(str(folder))):
            found.append(cmdline.strip())
    return found


def test_ctrl_c_stops_promptly_keeps_what_was_graded_and_a_rerun_grades_the_rest(tmp_path):
    course = subs.make_course(tmp_path)
    solution = subs.solution(course)
    # Correct, and slow to define (4 s): when the first result is recorded, the others are
    # still being graded, however the machine's load spaces the results out.
    slow = subs.notebook_bytes(course, {**solution, "sigmoid": "import time\ntime.sleep(4)\n"
                                                               + solution["sigmoid"]})
    students = [f"s{i}" for i in range(8)]
    for student in students:
        subs.write(course, student, {NOTEBOOK: slow})
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--course", str(course),
               "--workers", "2", "--no-progress", "--cell-timeout", "20"]
    # As at a terminal: SIGINT's default action, whatever this test inherited (a shell's
    # background job, which a CI runner may be, starts with SIGINT ignored).
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    state = grade.state_dir(course, ASSIGNMENT)
    deadline = time.monotonic() + 300
    while not list(state.glob("*.json")) and process.poll() is None:
        assert time.monotonic() < deadline, "no submission was graded within 300 s"
        time.sleep(0.1)
    assert process.poll() is None, "the run ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C at the terminal does
    interrupted = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("grade did not stop within 60 s of Ctrl-C")
    stopped_after = time.monotonic() - interrupted
    assert process.returncode == 130, stderr
    # Not after grading the submissions already queued for the workers (4+ s each).
    assert stopped_after < 20, f"grade took {stopped_after:.0f} s to stop after Ctrl-C"
    assert "interrupted; the submissions graded so far are kept" in stderr
    assert "Traceback" not in stderr, stderr
    time.sleep(1)  # kernels killed as the run stopped take a moment to be reaped
    assert not _processes_under(scratch), _processes_under(scratch)
    assert not any(scratch.iterdir()), f"scratch left behind: {list(scratch.iterdir())}"

    kept = grade.read_records(course, ASSIGNMENT)
    assert kept and set(kept) < set(students), "Ctrl-C came too late to test anything"
    assert all(r["status"] == "graded" and r["score"] == r["max_score"] for r in kept.values()), \
        {s: (r["status"], r["reason"]) for s, r in kept.items()}
    assert not list(state.glob(".*.part")), "a half-written record was left"

    rest = grade.grade(ASSIGNMENT, course, workers=2, limits=LIMITS, progress=False)
    assert sorted(rest.skipped) == sorted(kept), "a recorded result was graded again"
    assert sorted(r["student"] for r in rest.graded) == sorted(set(students) - set(kept))
    assert all(r["score"] == r["max_score"] for r in rest.graded), [r["reason"] for r in rest.graded]
    scores = harness.scores(course, ASSIGNMENT)
    assert sorted(scores) == students and all(sum(s.values()) == 16 for s in scores.values())
    print(f"stopped {stopped_after:.1f} s after Ctrl-C with {len(kept)} of {len(students)} graded")


@pytest.mark.skipif(not sandbox.available(), reason=f"no sandbox here: {sandbox.why_unavailable()}")
def test_two_sandboxed_runs_on_one_course_at_once(tmp_path):
    course = subs.make_course(tmp_path)
    other = "01-neuron"
    release(course / "release", [other], course)
    solutions = {
        ASSIGNMENT: (NOTEBOOK, subs.notebook_bytes(course, subs.solution(course))),
        other: _solution_bytes(course, other),
    }
    for assignment, (name, data) in solutions.items():
        for i in range(2):
            folder = course / "submitted" / f"student{i}" / assignment
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
    limits = grade.Limits(cell_timeout=20, timeout=150, memory_bytes=1536 * 2**20, sandbox=True)
    results, errors = {}, []

    def run(assignment):
        try:
            results[assignment] = grade.grade(assignment, course, workers=1, limits=limits,
                                              progress=False)
        except BaseException as error:  # reported below, with the other run's outcome
            errors.append(f"{assignment}: {type(error).__name__}: {error}")

    # Threads of this test process only start the two runs: each run grades in its own
    # worker processes, as two instructors' commands would.
    threads = [threading.Thread(target=run, args=(a,)) for a in solutions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for assignment, summary in results.items():
        assert [r["status"] for r in summary.graded] == ["graded", "graded"], \
            [r["reason"] for r in summary.graded]
        assert all(r["sandboxed"] and r["score"] == r["max_score"] for r in summary.graded)
        scores = harness.scores(course, assignment)
        assert sorted(scores) == ["student0", "student1"]
        assert {sum(s.values()) for s in scores.values()} == {summary.graded[0]["max_score"]}


def _solution_bytes(course: Path, assignment: str) -> tuple[str, bytes]:
    import nbformat

    source = nbformat.read(harness.notebook_path(course, "source", assignment), as_version=4)
    solution = harness.solution_code(source)
    path = harness.notebook_path(course, "release", assignment)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solution:
            cell.source = solution[grade_id]
    return path.name, nbformat.writes(nb).encode()
