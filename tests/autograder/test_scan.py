"""autograder.scan: honest submissions raise no flag; every way of reaching the reference, of
tampering with the kernel, or of changing the cells a student may not change, does."""
from __future__ import annotations

import importlib.util

import nbformat
import pytest

from autograder.course import COURSE_DIR, assignments, copy_course, run_nbgrader
from autograder.scan import scan_submission
from tests.assignments import harness
from tests.assignments.test_assignments import variants

ASSIGNMENT = "02-activations"
WITH_VARIANTS = [name for name in assignments() if importlib.util.find_spec(
    f"tests.assignments.variants.{name.split('-', 1)[1].replace('-', '_')}_{name.split('-')[0]}")]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("scan") / "course")
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


def source_path(course, assignment=ASSIGNMENT):
    return harness.notebook_path(course, "source", assignment)


def solution(course, assignment=ASSIGNMENT):
    return harness.solution_code(nbformat.read(source_path(course, assignment), as_version=4))


def scan(course, tmp_path, cells=None, edit=None, assignment=ASSIGNMENT):
    """Flags of the release with ``cells`` (grade_id -> code) filled in, after ``edit(nb)``."""
    nb = nbformat.read(harness.notebook_path(course, "release", assignment), as_version=4)
    for cell in nb.cells:
        if cells and cell.metadata.get("nbgrader", {}).get("grade_id") in cells:
            cell.source = cells[cell.metadata["nbgrader"]["grade_id"]]
    if edit:
        edit(nb)
    path = tmp_path / "submitted.ipynb"
    nbformat.write(nb, path)
    return scan_submission(path, source_path(course, assignment))


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_honest_mistakes_raise_no_flag(course, tmp_path):
    """The release, the solution, every realistic mistake and every alternative of
    02-activations: code that does not touch the grader, whatever its bugs."""
    sol = solution(course)
    module = variants(ASSIGNMENT)
    # The one mistake that calls the library it replaces is flagged for that, and only that.
    delegating = "softplus delegates to course_lib"
    honest = {"release": None, "solution": sol,
              **{name: {**sol, **cells} for name, (cells, _) in module.BUGGY.items() if name != delegating},
              **{name: {**sol, **cells} for name, cells in module.CORRECT.items()}}
    flagged = {name: flags for name, cells in honest.items() if (flags := scan(course, tmp_path, cells))}
    assert not flagged, flagged
    flags = scan(course, tmp_path, {**sol, **module.BUGGY[delegating][0]})
    assert [flag.code for flag in flags] == ["imports-reference"], flags


@pytest.mark.parametrize("assignment", [a for a in WITH_VARIANTS if a != ASSIGNMENT])
def test_correct_submissions_of_other_assignments_raise_no_flag(tmp_path, assignment):
    """The solution and the correct alternatives of every other assignment, submitted as the
    source notebook with its hidden tests removed (by nbgrader's own preprocessor; a real
    release per assignment would cost seconds each)."""
    from nbgrader.preprocessors import ClearHiddenTests

    source = harness.notebook_path(COURSE_DIR, "source", assignment)
    sol = solution(COURSE_DIR, assignment)
    for name, cells in {"solution": sol, **{n: {**sol, **c} for n, c in variants(assignment).CORRECT.items()}}.items():
        nb = nbformat.read(source, as_version=4)
        ClearHiddenTests().preprocess(nb, {})
        for c in nb.cells:
            grade_id = c.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in cells:
                c.source = cells[grade_id]
        nbformat.write(nb, tmp_path / "submitted.ipynb")
        assert scan_submission(tmp_path / "submitted.ipynb", source) == [], name


def test_harmless_notebook_habits_raise_no_flag(course, tmp_path):
    code = solution(course)["sigmoid"]
    habits = ["%matplotlib inline\n", "import numpy as np\n", "x = np.linspace(-3, 3, 7)\nprint(x)\n",
              "import math, sys\nprint(sys.version)\n", "from course_lib.testing import check_close\n"]
    for habit in habits:
        assert scan(course, tmp_path, {"sigmoid": habit + code}) == [], habit


REFERENCE_IMPORTS = [
    "import course_lib.activations",
    "import course_lib.activations as a",
    "from course_lib import activations as a",
    "from course_lib.activations import sigmoid as s",
    "import importlib\na = importlib.import_module('course_lib.activations')",
    "import importlib\na = importlib.import_module('.activations', 'course_lib')",
    "a = __import__('course_lib.activations', fromlist=['sigmoid'])",
    "import course_lib\na = getattr(course_lib, 'activ' + 'ations')",
    "import course_lib\na = getattr(course_lib, ''.join(['acti', 'vations']))",
    "import course_lib\ndef sigmoid(x):\n    return course_lib.activations.sigmoid(x)",
    "import course_lib as c\ndef sigmoid(x):\n    return c.activations.sigmoid(x)",
    "def sigmoid(x):\n    return reference.sigmoid(x)",  # the hidden tests' name for it
    "import sys\ndef sigmoid(x):\n    return sys.modules['course_lib.activations'].sigmoid(x)",
    "exec(open('/work/main/course_lib/activations.py').read())",
    "from course_lib.layers import sigmoid_forward",  # course_lib modules built on it
    "import course_lib.nn",
]


@pytest.mark.parametrize("code", REFERENCE_IMPORTS)
def test_reaching_the_reference_is_flagged(course, tmp_path, code):
    flags = scan(course, tmp_path, {"sigmoid": code})
    assert "imports-reference" in {f.code for f in flags}, flags
    assert all("cell 'sigmoid'" in f.message for f in flags if f.code == "imports-reference")


TAMPERING = [
    "get_ipython().ast_transformers.append(object())",
    "ip = get_ipython()\nip.events.register('pre_run_cell', print)",
    "import sys\nsys.settrace(lambda *a: None)",
    "import sys\nsys.setprofile(None)",
    "from sys import settrace",
    "import builtins\nbuiltins.AssertionError = Warning",
    "__builtins__.print = None",
    "import sys\nsys.modules['numpy'].allclose = None",
    "import ctypes",
    "import gc\ngc.get_objects()",
    "import inspect\nframe = inspect.currentframe().f_back",
    "def f():\n    import sys\n    return sys._getframe(1).f_globals",
    "np.allclose = lambda *a, **k: True",
    "import numpy\nnumpy.testing.assert_allclose = print",
    "setattr(np, 'allclose', lambda *a, **k: True)",
    "import course_lib.testing as t\nt.check_close = lambda *a, **k: None",
    "def check_close(*args, **kwargs):\n    pass",
    "np = None",
    "exec('x = 1')",
    "%load /work/main/course_lib/activations.py",
    "!cat ../../../gradebook.db",
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)",
    "f = sigmoid.__globals__",
]


@pytest.mark.parametrize("code", TAMPERING)
def test_kernel_tampering_is_flagged(course, tmp_path, code):
    flags = scan(course, tmp_path, {"relu": code})
    assert {f.code for f in flags} & {"kernel-tampering", "imports-reference"}, flags


@pytest.mark.parametrize("code", [
    "import sqlite3\nsqlite3.connect('../../../gradebook.db')",
    "import subprocess\nsubprocess.run(['ls'])",
    "import socket\nsocket.create_connection(('127.0.0.1', 5432))",
    "import os\nos._exit(0)",
    "text = open('../../source/02-activations/activations.ipynb').read()",
])
def test_system_access_is_flagged(course, tmp_path, code):
    assert "system-access" in {f.code for f in scan(course, tmp_path, {"relu": code})}


def _edit_source(grade_id, text):
    def edit(nb):
        cell(nb, grade_id).source = text
    return edit


def _set_meta(target, **values):
    def edit(nb):
        cell(nb, target).metadata["nbgrader"].update(values)
    return edit


def _delete(grade_id):
    def edit(nb):
        nb.cells.remove(cell(nb, grade_id))
    return edit


def _swap(first, second):
    def edit(nb):
        i, j = nb.cells.index(cell(nb, first)), nb.cells.index(cell(nb, second))
        nb.cells[i], nb.cells[j] = nb.cells[j], nb.cells[i]
    return edit


def _add_fake_grade_cell(nb):
    fake = nbformat.v4.new_code_cell("pass")
    fake.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "locked": True, "points": 100,
                                 "schema_version": 3, "solution": False}
    nb.cells.append(fake)


def _duplicate(grade_id):
    def edit(nb):
        copy = nbformat.from_dict(cell(nb, grade_id))
        copy.id = "a-copy"
        nb.cells.append(copy)
    return edit


@pytest.mark.parametrize("edit, code, where", [
    (_edit_source("setup", "import numpy as np\n"), "locked-cell-changed", "setup"),
    (_edit_source("test_relu_visible", "pass"), "locked-cell-changed", "test_relu_visible"),
    (_edit_source("test_softmax", "pass"), "test-cell-changed", "test_softmax"),
    (_delete("test_relu"), "test-cell-deleted", "test_relu"),
    (_delete("setup"), "locked-cell-deleted", "setup"),
    (_delete("elu"), "solution-cell-deleted", "elu"),
    (_set_meta("test_sigmoid", points=30), "metadata-changed", "test_sigmoid"),
    (_set_meta("test_sigmoid", solution=True), "metadata-changed", "test_sigmoid"),
    (_set_meta("setup", locked=False), "metadata-changed", "setup"),
    (_set_meta("relu", grade_id="relu2"), "metadata-changed", "relu2"),
    (_add_fake_grade_cell, "metadata-changed", "bonus"),
    (_duplicate("test_elu"), "metadata-changed", "test_elu"),
    (_swap("test_softmax", "softmax"), "cells-reordered", ""),
])
def test_changed_cells_and_metadata_are_flagged(course, tmp_path, edit, code, where):
    flags = [f for f in scan(course, tmp_path, solution(course), edit) if f.code == code]
    assert flags and where in flags[0].message, scan(course, tmp_path, solution(course), edit)


def test_whitespace_at_line_ends_of_a_locked_cell_is_no_change(course, tmp_path):
    def edit(nb):
        setup = cell(nb, "setup")
        setup.source = "\n".join(line + "  " for line in setup.source.splitlines()) + "\n\n"
    assert scan(course, tmp_path, solution(course), edit) == []


def test_scan_never_runs_the_code(course, tmp_path):
    planted = tmp_path / "planted.txt"
    code = f"open({str(planted)!r}, 'w').write('ran')\nraise SystemExit(1)\n"
    scan(course, tmp_path, {"sigmoid": code, "relu": "def relu(x)\n    syntax error"})
    assert not planted.exists()
