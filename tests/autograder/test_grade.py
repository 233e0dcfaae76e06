"""autograder.grade: one real batch of 02-activations submissions, graded by the real pipeline
(nbgrader, the sandbox when bubblewrap works, scan and verification when present), with every
way a submission can break the grader; each row's status, reason and points are checked, and
the gradebook and the resume behaviour afterwards."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder import grade
from autograder.__main__ import main as cli
from autograder.grade import Limits, preflight

from . import submissions as subs
from .submissions import ALL_PARTS, ASSIGNMENT, NOTEBOOK

LIMITS = Limits(cell_timeout=10, timeout=150, memory_bytes=1536 * 2**20)

# student -> (status before any "; flagged", fragments the reason must contain)
EXPECTED = {
    "correct": ("graded", []),
    "alternative": ("graded", []),
    "naive_sigmoid": ("graded", ["lost points: test_sigmoid 0/3, test_sigmoid_derivative 0/2"]),
    "renamed": ("graded",
                ["renamed notebook: my activations (1).ipynb graded as activations.ipynb"]),
    "infinite_loop": ("timeout", ["test_softplus: still running after the 10 s limit per cell"]),
    "swallows_interrupt": ("timeout", ["test_relu: still running after the 10 s limit per cell"]),
    "loop_at_definition": ("timeout",
                           ["sigmoid_derivative: still running after the 10 s limit per cell"]),
    "memory_bomb": ("graded", ["test_elu 0/2"]),
    "sys_exit": ("graded", ["test_leaky_relu 0/2"]),
    "os_exit": ("crashed", ["test_softmax: the kernel died while running this cell"]),
    "kernel_killed": ("crashed", ["test_sigmoid_derivative: the kernel died"]),
    "syntax_error": ("graded", ["test_softplus 0/2"]),
    "import_error": ("graded", ["test_elu 0/2"]),
    "prints_warning": ("graded", []),
    "huge_output": ("graded", []),
    "deleted_test": ("graded", ["test_relu 0/2"]),
    "reordered": ("graded", ["test_softmax 0/3"]),
    "empty": ("ungradable", ["empty file (0 bytes)"]),
    "not_json": ("ungradable", ["not valid JSON (line 1, column"]),
    "not_utf8": ("ungradable", ["not UTF-8 text: byte 0xe9 at offset"]),
    "not_a_notebook": ("ungradable", ["not a Jupyter notebook (nbformat 4)"]),
}
FLAGS = {"deleted_test": "test-cell-deleted", "reordered": "cells-reordered",
         "os_exit": "system-access", "rebinds_checks": "kernel-tampering",
         "ast_transformer": "kernel-tampering"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = subs.make_course(tmp_path_factory.mktemp("grade"))
    expected_lost = {}
    for student, (files, lost) in {**subs.batch(course), **subs.tampering(course)}.items():
        subs.write(course, student, files)
        expected_lost[student] = lost
    summary = grade.grade(ASSIGNMENT, course, workers=2, limits=LIMITS, progress=False)
    records = {r["student"]: r for r in summary.graded}
    return course, summary, records, expected_lost


def _points(record):
    return {part: p["score"] for part, p in record["parts"].items()}


def test_every_submission_gets_one_record(graded):
    _, summary, records, expected_lost = graded
    assert sorted(records) == sorted(expected_lost)
    assert summary.skipped == []


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_status_reason_and_points(graded, student):
    _, _, records, expected_lost = graded
    record = records[student]
    status, fragments = EXPECTED[student]
    assert record["status"].split(";")[0] == status, record["reason"]
    for fragment in fragments:
        assert fragment in record["reason"], record["reason"]
    lost = expected_lost[student]
    assert _points(record) == {part: 0.0 if part in lost else float(points)
                               for part, points in ALL_PARTS.items()}, record["reason"]
    assert record["score"] == sum(ALL_PARTS.values()) - sum(ALL_PARTS[p] for p in lost)
    assert record["max_score"] == 16


@pytest.mark.parametrize("student", sorted(FLAGS))
def test_suspicious_submissions_are_flagged(graded, student):
    record = graded[2][student]
    assert "flagged:" in record["status"] and FLAGS[student] in record["status"], record
    assert f"flag {FLAGS[student]}:" in record["reason"]


def test_honest_submissions_are_not_flagged(graded):
    for student in ("correct", "alternative", "naive_sigmoid", "renamed", "huge_output",
                    "loop_at_definition"):
        assert "flagged" not in graded[2][student]["status"], graded[2][student]["reason"]


@pytest.mark.parametrize("student", sorted(subs.TAMPERING))
def test_tampering_earns_nothing_beyond_the_honest_code(graded, student):
    """Rebinding the checks, or an AST transformer that deletes every raise, fools nbgrader;
    verification outside the kernel gives the part 0 and flags the mismatch."""
    record = graded[2][student]
    lost = graded[3][student]
    assert {p for p, s in _points(record).items() if s == 0} == lost, record["reason"]
    if any(record["parts"][part]["nbgrader"] for part in lost):  # nbgrader was fooled
        assert "verification-mismatch" in record["status"], record["reason"]


def test_the_kernel_reads_no_grading_material(graded):
    course, _, records, _ = graded
    if not records["snoops"]["sandboxed"]:
        pytest.skip("bubblewrap does not work here: kernels are not isolated")
    nb = json.loads((course / "autograded" / "snoops" / ASSIGNMENT / NOTEBOOK).read_text())
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"]
                      for o in c.get("outputs", ()))
    assert "NOTHING READ []" in printed and "LEAKED" not in printed
    assert records["snoops"]["score"] == 16


def test_warning_on_stderr_does_not_cost_points_but_warnings_still_fail_the_check(graded):
    records = graded[2]
    assert records["prints_warning"]["parts"]["test_relu"]["nbgrader"] == 2
    # the naive sigmoid's overflow warning is caught by the hidden tests themselves
    assert records["naive_sigmoid"]["parts"]["test_sigmoid"]["nbgrader"] == 0


def test_gradebook_holds_one_submission_per_student_with_the_final_scores(graded):
    from nbgrader.api import Gradebook

    course, _, records, _ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        subs_in_db = gradebook.assignment_submissions(ASSIGNMENT)
        students = [s.student.id for s in subs_in_db]
        assert sorted(students) == sorted(records)
        for submission in subs_in_db:
            record = records[submission.student.id]
            assert submission.score == pytest.approx(record["score"])
            assert submission.max_score == 16
            scores = {g.name: g.score for nb in submission.notebooks for g in nb.grades}
            assert scores == _points(record)
            assert not any(g.needs_manual_grade for nb in submission.notebooks for g in nb.grades)


def test_records_and_feedback_material_are_on_disk(graded):
    course, _, records, _ = graded
    state = grade.state_dir(course, ASSIGNMENT)
    assert sorted(p.stem for p in state.glob("*.json")) == sorted(records)
    assert (course / "autograded" / "correct" / ASSIGNMENT / NOTEBOOK).is_file()
    assert (course / "autograded" / "infinite_loop" / ASSIGNMENT / NOTEBOOK).is_file()
    assert not (course / "autograded" / "empty").exists()
    stopped = json.loads((course / "autograded" / "infinite_loop" / ASSIGNMENT / NOTEBOOK)
                         .read_text())
    errors = [o for c in stopped["cells"] for o in c.get("outputs", ())
              if o["output_type"] == "error"]
    assert any(o["ename"] == "CellStopped" for o in errors)


def test_a_second_run_grades_nothing_and_regrade_grades_again(graded):
    course, _, records, _ = graded
    again = grade.grade(ASSIGNMENT, course, workers=2, limits=LIMITS, progress=False)
    assert again.graded == [] and sorted(again.skipped) == sorted(records)

    # a changed submission is graded again, and only it
    folder = course / "submitted" / "empty" / ASSIGNMENT
    (folder / NOTEBOOK).write_bytes(b"   \n")
    changed = grade.grade(ASSIGNMENT, course, workers=2, limits=LIMITS, progress=False)
    assert [r["student"] for r in changed.graded] == ["empty"]
    assert changed.graded[0]["reason"] == "empty file (4 bytes)"

    assert cli(["grade", ASSIGNMENT, "--course", str(course), "--student", "not_json",
                "--regrade", "--no-progress", "--cell-timeout", "10"]) == 1
    assert grade.read_records(course, ASSIGNMENT)["not_json"]["status"] == "ungradable"

    # what an interruption leaves: a record never written, or written half
    state = grade.state_dir(course, ASSIGNMENT)
    (state / "not_utf8.json").unlink()
    (state / "not_a_notebook.json").write_text('{"student": "not_a_notebook", "sta')
    resumed = grade.grade(ASSIGNMENT, course, workers=2, limits=LIMITS, progress=False)
    assert sorted(r["student"] for r in resumed.graded) == ["not_a_notebook", "not_utf8"]


def test_preflight_names_the_problem(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    assert preflight(folder, NOTEBOOK).problem == f"no notebook submitted (expected {NOTEBOOK})"
    (folder / "a.ipynb").write_text("{}")
    (folder / "b.ipynb").write_text("{}")
    assert preflight(folder, NOTEBOOK).problem == (
        f"2 notebooks and none named {NOTEBOOK}: a.ipynb, b.ipynb")


def test_bad_arguments(tmp_path, capsys):
    assert cli(["grade", "99-nothing", "--course", str(subs.make_course(tmp_path))]) == 2
    assert "unknown assignment '99-nothing'" in capsys.readouterr().err
    assert cli(["grade", ASSIGNMENT, "--workers", "0"]) == 2


def test_workers_on_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    course = subs.make_course(tmp_path)
    everything = subs.batch(course)
    for student in ("correct", "empty", "not_json"):
        subs.write(course, student, everything[student][0])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
        summary = grade.grade(ASSIGNMENT, course, limits=LIMITS, progress=False,
                              scheduler=cluster.scheduler_address)
    statuses = {r["student"]: (r["status"], r["score"]) for r in summary.graded}
    assert statuses == {"correct": ("graded", 16.0), "empty": ("ungradable", 0.0),
                        "not_json": ("ungradable", 0.0)}


@pytest.fixture
def postgres_url(tmp_path):
    """A real PostgreSQL server (Debian's postgresql package) for the test, on a Unix socket."""
    import glob
    import os
    import shutil
    import subprocess
    import tempfile

    pytest.importorskip("psycopg2", reason="psycopg2 (PostgreSQL's driver) is not installed")
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not binaries:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql)")
    root = Path(tempfile.mkdtemp(prefix="gradebook-pg-"))  # outside pytest's private folder
    as_user = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data, sockets = root / "data", root / "sockets"

    def pg(program, *args):
        subprocess.run([*as_user, f"{binaries[-1]}/{program}", *args], check=True,
                       capture_output=True, timeout=120)

    pg("initdb", "-D", str(data), "-A", "trust", "-U", "grader")
    subprocess.run([*as_user, "mkdir", str(sockets)], check=True)
    pg("pg_ctl", "-D", str(data), "-w", "-l", str(root / "log"), "start", "-o",
       f"-k {sockets} -c listen_addresses=''")
    try:
        pg("createdb", "-h", str(sockets), "-U", "grader", "course")
        yield f"postgresql+psycopg2://grader@/course?host={sockets}"
    finally:
        pg("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_gradebook_in_postgresql(tmp_path, postgres_url):
    from nbgrader.api import Gradebook

    course = subs.make_course(tmp_path)
    everything = subs.batch(course)
    for student in ("correct", "empty"):
        subs.write(course, student, everything[student][0])
    assert cli(["grade", ASSIGNMENT, "--course", str(course), "--db", postgres_url,
                "--no-progress", "--cell-timeout", "10"]) == 1  # one ungradable
    assert not (course / "gradebook.db").exists()
    with Gradebook(postgres_url) as gradebook:
        scores = {s.student.id: s.score for s in gradebook.assignment_submissions(ASSIGNMENT)}
    assert scores == {"correct": 16, "empty": 0}
