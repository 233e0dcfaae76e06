"""Every assignment's verification spec (autograder/checks/) against its known submissions.

For each assignment, verification outside the kernel must agree with the hidden tests on the
submissions tests/assignments grades with nbgrader: the instructor's solution and every
correct alternative confirmed on every part, the untouched student version refuted on every
part, and each realistic mistake refuted on exactly the parts it loses there. A spec stricter
than the hidden tests would flag honest students; a looser one would let tampering keep points.
(Attacks on verification itself are tested on 02-activations in test_verify.py.)
"""
from __future__ import annotations

import nbformat
import pytest

from autograder import verify
from autograder.course import COURSE_DIR, assignments, copy_course, run_nbgrader
from tests.assignments import harness
from tests.assignments.test_assignments import variants

ASSIGNMENTS = assignments()


def graded_parts(source) -> set[str]:
    nb = nbformat.read(source, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")}


def submission(release, cells, path):
    """The release with ``cells`` (grade_id -> code) in its solution cells, written to ``path``."""
    nb = nbformat.read(release, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cells is not None and grade_id in cells:
            cell.source = cells[grade_id]
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_spec_covers_every_graded_part(assignment):
    source = harness.notebook_path(COURSE_DIR, "source", assignment)
    assert verify.covered(assignment) == graded_parts(source), \
        f"autograder/checks/ has no spec, or an incomplete one, for {assignment}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_verification_agrees_with_the_hidden_tests(assignment, tmp_path):
    course = copy_course(tmp_path / "course")
    run_nbgrader(course, "generate_assignment", assignment, "--force")
    source = harness.notebook_path(course, "source", assignment)
    release = harness.notebook_path(course, "release", assignment)
    solution = harness.solution_code(nbformat.read(source, as_version=4))
    module = variants(assignment)
    expected = {"solution": (solution, set()), "blank": (None, graded_parts(source))}
    expected |= {name: ({**solution, **cells}, lost) for name, (cells, lost) in module.BUGGY.items()}
    expected |= {name: ({**solution, **cells}, set()) for name, cells in module.CORRECT.items()}
    wrong = {}
    for i, (name, (cells, lost)) in enumerate(expected.items()):
        verdicts = verify.verify_submission(submission(release, cells, tmp_path / f"s{i}.ipynb"),
                                            assignment, seed=i, source=source)
        refuted = {part for part, verdict in verdicts.items() if not verdict.confirmed}
        if refuted != lost:
            wrong[name] = {part: ("should be refuted" if part in lost else "should be confirmed",
                                  verdict.message)
                           for part, verdict in verdicts.items() if (part in lost) == verdict.confirmed}
    assert not wrong, "\n".join(f"{name}: {parts}" for name, parts in wrong.items())
