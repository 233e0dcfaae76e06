"""autograder.verify: every graded part confirmed outside the student's kernel.

On 02-activations: verification must survive whatever the student's code does to its process, and take back every point that tampering with nbgrader's
kernel won (the issue's three measured attacks and stronger ones), so that each tampering
submission ends with the points of its honest code. (That every assignment's spec agrees
with its hidden tests on the known mistakes and correct alternatives is test_verify_specs.py.)
"""
from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import sandbox, verify
from autograder.checks import activations_02 as spec
from autograder.course import copy_course, run_nbgrader
from autograder.verify import unwatched
from course_lib import activations as reference
from tests.assignments import harness
from tests.assignments.variants import activations_02 as variants

ASSIGNMENT = "02-activations"
needs_bwrap = pytest.mark.skipif(not sandbox.available(),
                                 reason=f"no sandbox here: {sandbox.why_unavailable()}")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("verify") / "course")
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


@pytest.fixture(scope="module")
def source(course):
    return harness.notebook_path(course, "source", ASSIGNMENT)


@pytest.fixture(scope="module")
def solution(source):
    return harness.solution_code(nbformat.read(source, as_version=4))


def notebook(course, tmp_path, cells, name="submission", edit=None) -> Path:
    """The release with ``cells`` (grade_id -> code) filled in, as a file."""
    nb = nbformat.read(harness.notebook_path(course, "release", ASSIGNMENT), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cells is not None and grade_id in cells:
            cell.source = cells[grade_id]
    if edit:
        edit(nb)
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def refuted(verdicts) -> set[str]:
    return {part for part, verdict in verdicts.items() if not verdict.confirmed}


def graded_parts(source) -> dict[str, float]:
    nb = nbformat.read(source, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def test_no_spec_covers_nothing(source):
    assert verify.covered("99-no-such-assignment") == set()
    assert verify.verify_submission(source, "99-no-such-assignment") == {}


def test_messages_name_the_quantity_and_quote_no_hidden_test(course, tmp_path, solution, source):
    cells, _ = variants.BUGGY["softmax normalizes columns"]
    message = verify.verify_submission(notebook(course, tmp_path, {**solution, **cells}), ASSIGNMENT,
                                       source=source)["test_softmax"].message
    assert "softmax(x) for x of shape" in message and "expected" in message and "got" in message
    hidden = "".join(c.source for c in nbformat.read(source, as_version=4).cells
                     if c.metadata.get("nbgrader", {}).get("grade"))
    for line in {line.strip() for line in hidden.splitlines()} - {""}:
        assert line not in message


def _lookup_table_sigmoid() -> str:
    """A sigmoid that returns the right values for exactly the inputs of the hidden and visible
    tests (what a student who read them could hard-code), and zeros elsewhere."""
    rng = np.random.default_rng(2024)  # the hidden tests' seed, shapes and scale
    inputs = [rng.standard_normal(shape) * 6 for shape in spec.SHAPES]
    inputs += [spec.EXTREME, np.array([-2.0, 0.0, 2.0]), np.linspace(-5, 5, 11), np.zeros((3, 4)), np.array(0.0)]
    table = {x.tobytes(): reference.sigmoid(x).tolist() for x in inputs}
    return (f"_TABLE = {table!r}\n\n\ndef sigmoid(x):\n    x = np.asarray(x, dtype=float)\n"
            "    return np.array(_TABLE.get(x.tobytes(), np.zeros(x.shape))).reshape(x.shape)\n")


GRADEBOOK_THEN_TABLE = '''
import sqlite3
try:  # the hidden tests, straight from nbgrader's database
    _hidden = sqlite3.connect("file:../../../gradebook.db?mode=ro", uri=True).execute(
        "select source from source_cells").fetchall()
except Exception:
    _hidden = None
'''

WRONG_DERIVATIVE = "\n\ndef sigmoid_derivative(x):\n    return sigmoid(x) * (1 - x)\n"
COLUMN_SOFTMAX = variants.BUGGY["softmax normalizes columns"][0]["softmax"]


def _silencing(node: str) -> str:
    return (f"import ast\n\n\nclass _Silence(ast.NodeTransformer):\n    def visit_{node}(self, node):\n"
            f"        return ast.Pass()\n\n\nget_ipython().ast_transformers.append(_Silence())\n")


# name -> (cells, the parts its honest code loses)
ATTACKS = {
    "np.allclose rebound, wrong derivative": (
        {"sigmoid_derivative": "np.allclose = lambda *a, **k: True\n" + WRONG_DERIVATIVE},
        {"test_sigmoid_derivative"}),
    "course_lib's checks rebound, wrong derivative": (
        {"sigmoid_derivative": "import course_lib.testing as _t\n\n_t.check_close = _t.check_derivative = "
                               "_t.check_no_warnings = lambda *a, **k: None\n" + WRONG_DERIVATIVE},
        {"test_sigmoid_derivative"}),
    "asserts turned into pass, wrong softmax": (
        {"softmax": _silencing("Assert") + COLUMN_SOFTMAX}, {"test_softmax"}),
    "raises turned into pass, wrong softmax": (
        {"softmax": _silencing("Raise") + COLUMN_SOFTMAX}, {"test_softmax"}),
    "gradebook read, hidden tests' outputs hard-coded": (
        {"sigmoid": GRADEBOOK_THEN_TABLE + _lookup_table_sigmoid()}, {"test_sigmoid", "test_sigmoid_derivative"}),
    "the hidden tests' reference used": (
        {"sigmoid": "def sigmoid(x):\n    return reference.sigmoid(x)\n"}, {"test_sigmoid", "test_sigmoid_derivative"}),
}


def test_verification_refutes_every_attack_on_its_wrong_parts(course, tmp_path, solution, source):
    wrong = {}
    for i, (name, (cells, lost)) in enumerate(ATTACKS.items()):
        verdicts = verify.verify_submission(notebook(course, tmp_path, {**solution, **cells}, f"a{i}"),
                                            ASSIGNMENT, source=source)
        if refuted(verdicts) != lost:
            wrong[name] = {p: v.message for p, v in verdicts.items()}
    assert not wrong, wrong


@pytest.fixture(scope="module")
def tampered(course, solution, tmp_path_factory):
    """One ``nbgrader autograde`` of every attack, with kernels from ``kernel_setup``."""
    harness.submit(course, ASSIGNMENT, "honest", solution)
    for i, (cells, _) in enumerate(ATTACKS.values()):
        harness.submit(course, ASSIGNMENT, f"attack{i}", {**solution, **cells})
    with sandbox.socket_folder() as sockets:
        env, args = sandbox.kernel_setup(tmp_path_factory.mktemp("kernels"), hidden=[course],
                                         memory_bytes=2 * 2**30, cpu_seconds=60, sockets=sockets)
        result = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, *args],
                                cwd=course, capture_output=True, text=True, timeout=900,
                                env={**os.environ, **env, "OPENBLAS_NUM_THREADS": "1",
                                     "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr[-3000:]
    return harness.scores(course, ASSIGNMENT)


def test_tampering_earns_nothing_beyond_its_honest_code(course, source, tampered):
    """Final points as the pipeline combines them: nbgrader's points where verification
    confirms the part, 0 where it refutes it."""
    full = graded_parts(source)
    assert tampered["honest"] == full
    fooled, wrong = set(), {}
    for i, (name, (_, lost)) in enumerate(ATTACKS.items()):
        student = f"attack{i}"
        submitted = harness.notebook_path(course, f"submitted/{student}", ASSIGNMENT)
        verdicts = verify.verify_submission(submitted, ASSIGNMENT, source=source)
        final = {part: points if verdicts[part].confirmed else 0.0 for part, points in tampered[student].items()}
        if final != {part: 0.0 if part in lost else points for part, points in full.items()}:
            wrong[name] = (tampered[student], refuted(verdicts))
        if any(tampered[student][part] for part in lost):
            fooled.add(name)
    assert not wrong, f"attack -> (nbgrader's points, refuted parts): {wrong}"
    # The attacks are real: in nbgrader's kernel, these won points they had not earned.
    # (The hidden cells now reload course_lib's checks and reference and refuse a function that
    # calls the reference, so rebinding them or using `reference` no longer fools the kernel.)
    assert {"raises turned into pass, wrong softmax",
            "gradebook read, hidden tests' outputs hard-coded"} <= fooled


def test_fresh_secret_inputs_each_time_and_the_same_ones_for_a_seed():
    first, again, other = (spec.parts(np.random.default_rng(s)) for s in (7, 7, 8))
    assert all(np.array_equal(a, b) for a, b in zip(first["test_sigmoid"][0].args, again["test_sigmoid"][0].args))
    assert not np.array_equal(first["test_sigmoid"][0].args[0], other["test_sigmoid"][0].args[0])


def test_the_child_gets_the_students_code_and_the_instructors_setup_only(course, tmp_path, solution, source):
    def edit(nb):
        setup = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
        setup.source = "np = None"  # a locked cell edited: nbgrader restores it, so does verify
        nb.cells.append(nbformat.v4.new_code_cell(
            "def helper(x):\n    return x\n\nLIMIT = 3\nprint(helper(LIMIT))\nfor i in range(10**9):\n    pass\n"))
    cells = verify.student_code(notebook(course, tmp_path, solution, edit=edit), source, spec.SETUP)
    text = "\n".join(c["source"] for c in cells)
    assert cells[0]["source"].startswith("import numpy as np")
    assert "np = None" not in text and "HIDDEN" not in text and "reference" not in text
    assert "def helper" in text and "LIMIT = 3" in text and "range(10**9)" not in text
    assert [c["name"] for c in cells][1:8] == ["sigmoid", "sigmoid_derivative", "relu", "leaky_relu", "elu",
                                               "softplus", "softmax"]


def _inject(code: str, function: str, lines: str) -> str:
    """``code`` with ``lines`` run first in ``function`` when it is called on a 3-d array."""
    head = f"def {function}("
    start = code.index(head)
    body = code.index('"""', code.index('"""', start) + 3) + 3
    return code[:body] + "\n    if np.ndim(x) == 3:\n" + lines + code[body:]


BROKEN = {
    "infinite loop": ("relu", "        while True:\n            pass\n", {"test_relu"}),
    "loop that swallows KeyboardInterrupt": ("relu", "        import time\n        while True:\n"
                                             "            try:\n                time.sleep(0.01)\n"
                                             "            except KeyboardInterrupt:\n                pass\n",
                                             {"test_relu"}),
    "memory bomb": ("elu", "        hoard = []\n        while True:\n            hoard.append(np.ones(10**7))\n",
                    {"test_elu"}),
    "sys.exit": ("leaky_relu", "        import sys\n        sys.exit(1)\n", {"test_leaky_relu"}),
    "os._exit": ("sigmoid_derivative", "        import os\n        os._exit(3)\n", {"test_sigmoid_derivative"}),
    "kernel killed": ("softplus", "        import os, signal\n        os.kill(os.getpid(), signal.SIGKILL)\n",
                      {"test_softplus"}),
    "a correct relu writing to stderr": ("relu", "        import sys\n        print('RuntimeWarning: overflow',"
                                         " file=sys.__stderr__)\n", set()),
}


@pytest.mark.parametrize("name", BROKEN)
def test_what_the_code_does_to_its_process_refutes_only_its_part(course, tmp_path, solution, source, name):
    cell, lines, lost = BROKEN[name]
    path = notebook(course, tmp_path, {**solution, cell: _inject(solution[cell], cell, lines)})
    verdicts = verify.verify_submission(path, ASSIGNMENT, source=source, timeout=8, memory_bytes=2**30)
    assert refuted(verdicts) == lost, {p: v.message for p, v in verdicts.items()}


def _delete(grade_id):
    def edit(nb):
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return edit


def _softmax_first(nb):
    index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "softmax")
    nb.cells.insert(2, nb.cells.pop(index))


@pytest.mark.parametrize("cells, edit, lost", [
    ({"softplus": "def softplus(x)\n    return np.logaddexp(0, x)\n"}, None, {"test_softplus"}),
    ({"elu": "import torch_activations\n\n\ndef elu(x, alpha=1.0):\n    return x\n"}, None, {"test_elu"}),
    ({"sigmoid": "print('x' * 10**7)\nfor i in range(10**5):\n    print(i)\n"
                 "def sigmoid(x):\n    return 0.5 * (1 + np.tanh(0.5 * np.asarray(x, dtype=float)))\n"}, None, set()),
    ({"sigmoid": "%matplotlib inline\nimport math\n\n\ndef sigmoid(x):\n"
                 "    return 0.5 * (1 + np.tanh(0.5 * np.asarray(x, dtype=float)))\n"}, None, set()),
    ({}, _delete("relu"), {"test_relu"}),
    ({}, _softmax_first, set()),
], ids=["syntax error", "exception at import", "huge output", "a magic", "deleted solution cell",
        "reordered cells"])
def test_broken_cells_refute_only_their_parts(course, tmp_path, solution, source, cells, edit, lost):
    verdicts = verify.verify_submission(notebook(course, tmp_path, {**solution, **cells}, edit=edit),
                                        ASSIGNMENT, source=source)
    assert refuted(verdicts) == lost, {p: v.message for p, v in verdicts.items()}


@pytest.mark.parametrize("data", [b"", b'{"cells": [{"cell_type": "code", "source": ',
                                  "caf\xe9".encode("latin-1"), b'{"name": "my answers"}'],
                         ids=["empty", "not JSON", "not UTF-8", "not a notebook"])
def test_unreadable_files_refute_every_part_with_a_reason(tmp_path, source, data):
    path = tmp_path / "activations.ipynb"
    path.write_bytes(data)
    verdicts = verify.verify_submission(path, ASSIGNMENT, source=source)
    assert set(verdicts) == verify.covered(ASSIGNMENT)
    assert all(not v.confirmed and "could not be read" in v.message for v in verdicts.values())


def test_results_are_never_unpickled(course, tmp_path, solution, source):
    """Code that makes the child write pickled objects gets every part refuted, and nothing
    of it runs in the parent."""
    planted = tmp_path / "unpickled.txt"
    trap = (f"import numpy\n\n\nclass _Trap:\n    def __reduce__(self):\n"
            f"        return (open, ({str(planted)!r}, 'w'))\n\n\n_save = numpy.save\n"
            "numpy.save = lambda file, array, allow_pickle=False: _save(file, numpy.array([_Trap()], dtype=object), "
            "allow_pickle=True)\n")
    path = notebook(course, tmp_path, {**solution, "softmax": solution["softmax"] + "\n" + trap})
    verdicts = verify.verify_submission(path, ASSIGNMENT, source=source, sandboxed=False)
    assert all(not v.confirmed and "could not be read" in v.message for v in verdicts.values())
    assert not planted.exists()


@needs_bwrap
def test_the_sandboxed_child_cannot_read_the_reference(course, tmp_path, solution, source):
    imported = "from course_lib import activations as _a\n\n\ndef sigmoid(x):\n    return _a.sigmoid(x)\n"
    read = ("import os, course_lib\n\n\ndef softplus(x):\n    found = {}\n"
            "    path = os.path.join(os.path.dirname(course_lib.__file__), 'activations.py')\n"
            "    exec(open(path).read(), found)\n    return found['softplus'](x)\n")
    verdicts = verify.verify_submission(notebook(course, tmp_path, {**solution, "sigmoid": imported, "softplus": read}),
                                        ASSIGNMENT, source=source, sandboxed=True)
    assert refuted(verdicts) == {"test_sigmoid", "test_sigmoid_derivative", "test_softplus"}, \
        {p: v.message for p, v in verdicts.items()}


def test_what_the_hidden_tests_allow_is_confirmed(course, tmp_path, solution, source):
    """Verification asks no more than the hidden tests: a softmax that shifts its input in
    place (the result is unchanged, and only relu's tests forbid it) keeps its points."""
    shifting = ("def softmax(x):\n    x -= np.max(x, axis=-1, keepdims=True)\n    e = np.exp(x)\n"
                "    return e / e.sum(axis=-1, keepdims=True)\n")
    verdicts = verify.verify_submission(notebook(course, tmp_path, {**solution, "softmax": shifting}),
                                        ASSIGNMENT, source=source)
    assert refuted(verdicts) == set(), {p: v.message for p, v in verdicts.items()}


def relu_unwatched(ns, x):
    """A probe that runs the notebook's relu through unwatched, as a probe runs a reference it
    substitutes."""
    return unwatched(ns["relu"])(x)


def test_a_watched_call_that_runs_the_reference_is_refuted(course, tmp_path, solution, source, monkeypatch):
    """With the reference not hidden from the child, a relu that delegates to it is refuted
    where the call watches course_lib.activations, and only there: not where the probe runs it
    through unwatched, nor in a call that watches nothing."""
    x, watch = np.linspace(-2.0, 2.0, 7), ("course_lib.activations",)
    watched = types.ModuleType("watched_spec")
    watched.SETUP, watched.REFERENCES, watched.relu_unwatched = spec.SETUP, (), relu_unwatched
    watched.parts = lambda rng: {
        "watched": [verify.call("relu", reference.relu, x, watch=watch)],
        "through unwatched": [verify.probe(relu_unwatched, {"relu": reference.relu}, x, name="relu, unwatched",
                                           outputs=("relu(x)",), needs=("relu",), watch=watch)],
        "not watched": [verify.call("relu", reference.relu, x)]}
    monkeypatch.setattr(verify, "spec_module", lambda assignment: watched)
    delegating = "from course_lib import activations as _a\n\n\ndef relu(x):\n    return _a.relu(x)\n"
    verdicts = verify.verify_submission(notebook(course, tmp_path, {**solution, "relu": delegating}), ASSIGNMENT,
                                        source=source)
    assert refuted(verdicts) == {"watched"}, {p: v.message for p, v in verdicts.items()}
    assert "relu runs course_lib.activations.relu, the reference it is meant to replace" in verdicts["watched"].message
