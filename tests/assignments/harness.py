"""Build submissions from an assignment's notebooks and grade them with the real nbgrader.

A submission is the student version with some solution cells filled in: by the instructor's
solution (what a correct student writes), or by a variant's code (a realistic mistake, or a
correct answer written differently). One ``nbgrader autograde`` run grades them all.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.MULTILINE)


def notebook_path(course: Path, folder: str, assignment: str) -> Path:
    (path,) = (course / folder / assignment).glob("*.ipynb")
    return path


def solution_code(source_nb) -> dict[str, str]:
    """The instructor's code of every solution cell, by grade_id, without the markers."""
    return {c.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKERS.sub("", c.source)
            for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def submit(course: Path, assignment: str, student: str, cells: dict[str, str] | None) -> None:
    """Write student ``student``'s submission: the release with ``cells`` (grade_id -> code)
    put into its solution cells; None submits the release untouched."""
    release = nbformat.read(notebook_path(course, "release", assignment), as_version=4)
    for cell in release.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cells is not None and grade_id in cells:
            cell.source = cells[grade_id]
    target = course / "submitted" / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(release, target / notebook_path(course, "release", assignment).name)


def scores(course: Path, assignment: str) -> dict[str, dict[str, float]]:
    """Points of every graded test cell, by student."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {sub.student.id: {g.name: g.score for nb in sub.notebooks for g in nb.grades}
                for sub in gradebook.assignment_submissions(assignment)}
