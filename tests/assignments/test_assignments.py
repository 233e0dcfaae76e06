"""Every assignment: the release is generated and leaks nothing, the instructor's solution gets
full marks, the untouched student version gets 0 on every part, each realistic bug loses
exactly the parts it breaks, and correct answers written differently get full marks."""
import importlib
import json
import re

import nbformat
import pytest

from autograder.course import assignments, copy_course, run_nbgrader

from . import harness

ASSIGNMENTS = assignments()
# What the release replaces by a stub; the lines around it (a class statement, a constructor
# call the notebook gives) are released on purpose.
SOLUTION_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*### END SOLUTION",
                            re.MULTILINE | re.DOTALL)


def variants(assignment: str):
    number, name = assignment.split("-", 1)
    return importlib.import_module(f"{__package__}.variants.{name.replace('-', '_')}_{number}")


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """One course copy per assignment: released, every submission written, one autograde."""
    assignment = request.param
    course = copy_course(tmp_path_factory.mktemp(assignment) / "course")
    run_nbgrader(course, "generate_assignment", assignment, "--force")
    source = nbformat.read(harness.notebook_path(course, "source", assignment), as_version=4)
    solution = harness.solution_code(source)
    module = variants(assignment)
    harness.submit(course, assignment, "solution", solution)
    harness.submit(course, assignment, "blank", None)
    for i, (cells, _) in enumerate(module.BUGGY.values()):
        harness.submit(course, assignment, f"buggy{i}", {**solution, **cells})
    for i, cells in enumerate(module.CORRECT.values()):
        harness.submit(course, assignment, f"correct{i}", {**solution, **cells})
    # Kernels on Unix sockets under this course copy: TCP ports picked by concurrent graders
    # (the other test workers) can collide, and one dead kernel would fail a whole run.
    sockets = course / "kernel-sockets"
    sockets.mkdir()
    run_nbgrader(course, "autograde", assignment, "--force", "--KernelManager.transport=ipc",
                 f"--KernelManager.ip={sockets / 'kernel'}")
    return assignment, course, source, module, harness.scores(course, assignment)


def _max_points(source) -> dict[str, float]:
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")}


def test_each_assignment_has_enough_variants():
    for assignment in ASSIGNMENTS:
        module = variants(assignment)
        assert len(module.BUGGY) >= 5 and len(module.CORRECT) >= 2, assignment


def test_release_leaks_no_solution_and_no_hidden_test(graded):
    assignment, course, source, _, _ = graded
    release_path = harness.notebook_path(course, "release", assignment)
    text = release_path.read_text()
    # Hidden tests import the reference as `reference`; no student-facing cell does.
    for marker in ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                   " as reference"]:
        assert marker not in text, f"{marker!r} is in the student version of {assignment}"
    released = json.loads(text)
    assert not any(c.get("outputs") for c in released["cells"] if c["cell_type"] == "code")
    for code in (block for cell in source.cells for block in SOLUTION_BLOCK.findall(cell.source)):
        body = [line.strip() for line in code.splitlines()
                if line.strip() and not line.strip().startswith(("def ", '"""', "#"))]
        leaked = [line for line in body if line in text]
        assert not leaked, f"solution lines in the student version of {assignment}: {leaked}"
    # Nothing but notebooks is released (nbgrader copies every file beside a source notebook).
    assert [p.name for p in release_path.parent.iterdir()] == [release_path.name]


def test_solution_gets_full_marks_and_blank_gets_zero(graded):
    _, _, source, _, scores = graded
    assert scores["solution"] == _max_points(source)
    assert scores["blank"] == {part: 0.0 for part in _max_points(source)}


def test_each_bug_loses_exactly_the_parts_it_breaks(graded):
    _, _, source, module, scores = graded
    full = _max_points(source)
    wrong = {}
    for i, (name, (_, lost)) in enumerate(module.BUGGY.items()):
        expected = {part: (0.0 if part in lost else points) for part, points in full.items()}
        if scores[f"buggy{i}"] != expected:
            wrong[name] = scores[f"buggy{i}"]
    assert not wrong, f"bugs graded wrong (part -> points): {wrong}"


def test_correct_alternatives_get_full_marks(graded):
    _, _, source, module, scores = graded
    wrong = {name: scores[f"correct{i}"] for i, name in enumerate(module.CORRECT)
             if scores[f"correct{i}"] != _max_points(source)}
    assert not wrong, f"correct answers that lost points: {wrong}"
