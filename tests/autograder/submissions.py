"""Realistic submissions of 02-activations for the grading pipeline's tests.

Each builder returns the bytes of a submitted notebook: the student version with solution
cells filled in (by the instructor's solution, a variant of tests/assignments/variants, or
code that breaks the grader in one of the ways the issue lists), or a damaged file.
"""
from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.course import copy_course, release
from tests.assignments import harness
from tests.assignments.variants import activations_02 as variants

ASSIGNMENT, NOTEBOOK = "02-activations", "activations.ipynb"
# Only the hidden tests call a function on a 3-d array (shape (2, 3, 2)): code that misbehaves
# there stops one graded cell, not the visible test before it.
ON_3D = "    if np.ndim(x) == 3:\n"


def make_course(root: Path) -> Path:
    """A course copy with the student version in release/ (submissions start from it) and no
    gradebook yet (the grade step makes it)."""
    course = copy_course(root / "course")
    release(course / "release", [ASSIGNMENT], course)
    return course


def source_notebook(course: Path):
    return nbformat.read(harness.notebook_path(course, "source", ASSIGNMENT), as_version=4)


def solution(course: Path) -> dict[str, str]:
    return harness.solution_code(source_notebook(course))


def _inject(code: str, function: str, body: str) -> str:
    """``code`` with ``body`` (indented lines) run first in ``function``'s body."""
    marker = f"def {function}("
    start = code.index(marker)
    docstring_end = code.index('"""', code.index('"""', start) + 3) + 3
    return code[:docstring_end] + "\n" + body + code[docstring_end:]


def notebook_bytes(course: Path, cells: dict[str, str] | None, *,
                   edit=None) -> bytes:
    """The release with ``cells`` (grade_id -> code) filled in; ``edit(nb)`` may change the
    notebook's structure afterwards."""
    nb = nbformat.read(harness.notebook_path(course, "release", ASSIGNMENT), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cells is not None and grade_id in cells:
            cell.source = cells[grade_id]
    if edit is not None:
        edit(nb)
    return nbformat.writes(nb).encode()


def _index(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _delete(grade_id):
    def edit(nb):
        del nb.cells[_index(nb, grade_id)]
    return edit


def _move_before(grade_id, before):
    def edit(nb):
        cell = nb.cells.pop(_index(nb, grade_id))
        nb.cells.insert(_index(nb, before), cell)
    return edit


ALL_PARTS = {"test_sigmoid": 3, "test_sigmoid_derivative": 2, "test_relu": 2,
             "test_leaky_relu": 2, "test_elu": 2, "test_softplus": 2, "test_softmax": 3}


def batch(course: Path) -> dict[str, tuple[dict[str, bytes], set[str]]]:
    """student -> (files of their submission folder, parts that must score 0)."""
    sol = solution(course)

    def with_cells(**cells):
        return {NOTEBOOK: notebook_bytes(course, {**sol, **cells})}

    naive, naive_lost = variants.BUGGY["naive sigmoid"]
    return {
        "correct": (with_cells(), set()),
        "alternative": (with_cells(**variants.CORRECT["other stable formulas"]), set()),
        "naive_sigmoid": (with_cells(**naive), naive_lost),
        "renamed": ({"my activations (1).ipynb": notebook_bytes(course, sol)}, set()),
        "infinite_loop": (with_cells(softplus=_inject(
            sol["softplus"], "softplus", ON_3D + "        while True:\n            pass\n")),
            {"test_softplus"}),
        # A loop left running at the top of a solution cell: the cell is stopped, and only the
        # part of what it defines is lost (in nbgrader's run and in the verification's).
        "loop_at_definition": (with_cells(
            sigmoid_derivative=sol["sigmoid_derivative"] + "\nwhile True:\n    pass\n"),
            {"test_sigmoid_derivative"}),
        "swallows_interrupt": (with_cells(relu=_inject(sol["relu"], "relu", ON_3D + (
            "        while True:\n            try:\n                time.sleep(0.01)\n"
            "            except KeyboardInterrupt:\n                pass\n"))
            .replace("def relu(x):", "import time\n\n\ndef relu(x):", 1)),
            {"test_relu"}),
        "memory_bomb": (with_cells(elu=_inject(sol["elu"], "elu", ON_3D + (
            "        hoard = []\n        while True:\n"
            "            hoard.append(np.ones(10**7))\n"))), {"test_elu"}),
        "sys_exit": (with_cells(leaky_relu=_inject(
            sol["leaky_relu"], "leaky_relu", ON_3D + "        sys.exit(1)\n")
            .replace("def leaky_relu(x", "import sys\n\n\ndef leaky_relu(x", 1)),
            {"test_leaky_relu"}),
        "os_exit": (with_cells(softmax=_inject(
            sol["softmax"], "softmax", "    if np.shape(x) == (5, 3):\n        os._exit(3)\n")
            .replace("def softmax(x)", "import os\n\n\ndef softmax(x)", 1)),
            {"test_softmax"}),
        "kernel_killed": (with_cells(sigmoid_derivative=_inject(
            sol["sigmoid_derivative"], "sigmoid_derivative",
            ON_3D + "        import os, signal\n        os.kill(os.getpid(), signal.SIGKILL)\n")),
            {"test_sigmoid_derivative"}),
        "syntax_error": (with_cells(softplus="def softplus(x)\n    return np.logaddexp(0, x)\n"),
                         {"test_softplus"}),
        "import_error": (with_cells(elu="import torch_activations\n\n" + sol["elu"]),
                         {"test_elu"}),
        # A correct relu that writes to the process's stderr from inside the hidden tests
        # (plain nbgrader scores the cell 0 for it).
        "prints_warning": (with_cells(relu=_inject(sol["relu"], "relu", (
            "    sys.__stderr__.write('RuntimeWarning: overflow encountered in exp\\n')\n"
            "    sys.__stderr__.flush()\n"))
            .replace("def relu(x):", "import sys\n\n\ndef relu(x):", 1)), set()),
        # 2 MB of output, 200 times what nbgrader keeps of a cell
        "huge_output": (with_cells(
            sigmoid=sol["sigmoid"] + "\n\nprint(('x' * 99 + '\\n') * 20000)\n"), set()),
        "deleted_test": ({NOTEBOOK: notebook_bytes(course, sol, edit=_delete("test_relu"))},
                         {"test_relu"}),
        "reordered": ({NOTEBOOK: notebook_bytes(course, sol,
                                                edit=_move_before("test_softmax", "softmax"))},
                      {"test_softmax"}),
        "empty": ({NOTEBOOK: b""}, set(ALL_PARTS)),
        "not_json": ({NOTEBOOK: b'{"cells": [{"cell_type": "code", "source": '}, set(ALL_PARTS)),
        "not_utf8": ({NOTEBOOK: notebook_bytes(course, sol).replace(
            b"Activation functions", "Activation fonctions \xe9".encode("latin-1"))},
            set(ALL_PARTS)),
        "not_a_notebook": ({NOTEBOOK: json.dumps({"name": "my answers"}).encode()},
                           set(ALL_PARTS)),
    }


TAMPERING = {
    # a wrong sigmoid, and the checks made to pass whatever they compare
    "rebinds_checks": ('''
import course_lib.testing as _t
_t.check_close = lambda *args, **kwargs: None
_t.check_no_warnings = lambda *args, **kwargs: None


def sigmoid(x):
    return np.zeros(np.shape(x))
''', {"test_sigmoid", "test_sigmoid_derivative"}),
    # a wrong softmax, and every assert and raise of the tests turned into pass
    "ast_transformer": ('''
import ast


class _Silence(ast.NodeTransformer):
    def visit_Raise(self, node):
        return ast.Pass()

    def visit_Assert(self, node):
        return ast.Pass()


get_ipython().ast_transformers.append(_Silence())


def softmax(x):
    return np.ones(np.shape(x))
''', {"test_softmax"}),
}


# Reads what grading material it can find and prints it; sandboxed, every such file is empty.
SNOOP = '''
import glob as _glob
_leaked = []
for _pattern in ["../../../gradebook.db", "../../../source/*/*.ipynb", "../../../*.py",
                 {course!r} + "/gradebook.db", {course!r} + "/source/*/*.ipynb"]:
    for _path in _glob.glob(_pattern):
        try:
            with open(_path, "rb") as _file:
                if _file.read(100):
                    _leaked.append(_path)
        except OSError:
            pass
print("LEAKED" if _leaked else "NOTHING READ", _leaked)
'''


def tampering(course: Path) -> dict[str, tuple[dict[str, bytes], set[str]]]:
    sol = solution(course)
    out = {}
    for student, (code, lost) in TAMPERING.items():
        part = "sigmoid" if "def sigmoid" in code else "softmax"
        out[student] = ({NOTEBOOK: notebook_bytes(course, {**sol, part: code})}, lost)
    snoop = SNOOP.format(course=str(course.resolve()))
    out["snoops"] = ({NOTEBOOK: notebook_bytes(course, {**sol, "sigmoid": sol["sigmoid"] + snoop})},
                     set())
    return out


def write(course: Path, student: str, files: dict[str, bytes]) -> Path:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


SMALL = ("correct", "naive_sigmoid", "reordered", "infinite_loop", "empty", "not_json")
LEAKY = {
    # prints the running cell's source (the hidden tests) from inside the student's function
    "echoes_tests": ("relu", ON_3D + "        print(get_ipython().user_ns['In'][-1])\n",
                     {"test_relu"}),
    # a verbose traceback through the hidden tests' lines, then an error collect() lets through
    "verbose_traceback": ("leaky_relu", ON_3D + (
        "        get_ipython().InteractiveTB.set_mode(mode='Verbose')\n"
        "        raise SystemExit('stopped here')\n"), {"test_leaky_relu"}),
}


@functools.cache
def small_batch() -> tuple[Path, dict[str, dict]]:
    """A small batch graded once per test process (shared by the export and feedback tests):
    (course, student -> record)."""
    from autograder import grade

    root = Path(tempfile.mkdtemp(prefix="autograder-small-"))
    atexit.register(shutil.rmtree, root, True)
    course = make_course(root)
    everything = batch(course)
    for student in SMALL:
        write(course, student, everything[student][0])
    sol = solution(course)
    for student, (part, body, _) in LEAKY.items():
        code = _inject(sol[part], part, body)
        write(course, student, {NOTEBOOK: notebook_bytes(course, {**sol, part: code})})
    limits = grade.Limits(cell_timeout=10, timeout=150, memory_bytes=1536 * 2**20)
    summary = grade.grade(ASSIGNMENT, course, workers=2, limits=limits, progress=False)
    return course, {r["student"]: r for r in summary.graded}
