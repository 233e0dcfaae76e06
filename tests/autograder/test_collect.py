"""autograder.collect: submissions from student folders and LMS zips into nbgrader's layout."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from autograder.__main__ import main as cli
from autograder.collect import CollectReport, collect
from autograder.course import COURSE_DIR, copy_course, run_nbgrader

ASSIGNMENT, NOTEBOOK = "02-activations", "activations.ipynb"


def notebook(tag: str) -> bytes:
    """A small notebook whose bytes say which input it came from."""
    return ('{"cells": [], "metadata": {"tag": "%s"}, "nbformat": 4, "nbformat_minor": 5}'
            % tag).encode()


def write_files(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def write_zip(path: Path, files: dict[str, bytes | tuple[bytes, tuple]]) -> Path:
    """A zip of ``files`` (name -> bytes, or (bytes, date_time)), names kept as given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            data, when = data if isinstance(data, tuple) else (data, (2024, 3, 1, 12, 0, 0))
            archive.writestr(zipfile.ZipInfo(name, when), data, zipfile.ZIP_DEFLATED)
    return path


def submitted(course: Path, student: str) -> bytes:
    return (course / "submitted" / student / ASSIGNMENT / NOTEBOOK).read_bytes()


def inputs_in(report: CollectReport) -> list[str]:
    return sorted(row.input for rows in (report.placed, report.superseded, report.unplaced)
                  for row in rows)


@pytest.fixture
def course(tmp_path):
    return copy_course(tmp_path / "course")


def test_student_folders(course, tmp_path):
    files = {"alice/activations.ipynb": notebook("alice"),
             "bob/02-activations/my work.ipynb": notebook("bob"),
             "Carol Smith/Activations.ipynb": notebook("carol"),
             "alice/notes.pdf": b"%PDF-1.4",
             "alice/.ipynb_checkpoints/activations-checkpoint.ipynb": notebook("checkpoint"),
             "loose.ipynb": notebook("loose")}
    report = collect(write_files(tmp_path / "in", files), ASSIGNMENT, course)

    assert {(p.input, p.student) for p in report.placed} == {
        ("alice/activations.ipynb", "alice"), ("bob/02-activations/my work.ipynb", "bob"),
        ("Carol Smith/Activations.ipynb", "carol_smith")}
    for placed in report.placed:
        assert placed.path == course / "submitted" / placed.student / ASSIGNMENT / NOTEBOOK
        assert placed.path.read_bytes() == files[placed.input]
    reasons = dict(report.unplaced)
    assert reasons["alice/notes.pdf"] == "not a notebook (.pdf)"
    assert "hidden or system" in reasons["alice/.ipynb_checkpoints/activations-checkpoint.ipynb"]
    assert "no student" in reasons["loose.ipynb"]
    assert inputs_in(report) == sorted(files) and not report.ok


def test_canvas_zip_takes_the_latest_resubmission(course, tmp_path):
    files = {"doejane_12345_678901_activations.ipynb": notebook("jane first"),
             "doejane_LATE_12345_678950_activations-2.ipynb": notebook("jane last"),
             "doejane_LATE_12345_678930_activations-1.ipynb": notebook("jane second"),
             # equal names: the newer file wins
             "smithjohn_222_333_activations.ipynb": (notebook("john old"), (2024, 3, 1, 9, 0, 0)),
             "smithjohn_222_334_activations.ipynb": (notebook("john new"), (2024, 3, 2, 9, 0, 0)),
             # a scratch notebook, even newer, does not beat the assignment's notebook
             "smithjohn_222_335_scratch.ipynb": (notebook("john scratch"), (2024, 3, 3, 9, 0, 0)),
             "leeann_444_555_report.docx": b"PK\x03\x04"}
    report = collect(write_zip(tmp_path / "submissions.zip", files), ASSIGNMENT, course)

    assert submitted(course, "doejane_12345") == notebook("jane last")
    assert submitted(course, "smithjohn_222") == notebook("john new")
    assert sorted(report.superseded) == sorted([
        ("doejane_12345_678901_activations.ipynb", "doejane_12345",
         "doejane_LATE_12345_678950_activations-2.ipynb"),
        ("doejane_LATE_12345_678930_activations-1.ipynb", "doejane_12345",
         "doejane_LATE_12345_678950_activations-2.ipynb"),
        ("smithjohn_222_333_activations.ipynb", "smithjohn_222",
         "smithjohn_222_334_activations.ipynb"),
        ("smithjohn_222_335_scratch.ipynb", "smithjohn_222",
         "smithjohn_222_334_activations.ipynb")])
    assert report.unplaced == [("leeann_444_555_report.docx", "not a notebook (.docx)")]
    assert inputs_in(report) == sorted(files)
    assert sorted(p.name for p in (course / "submitted").iterdir()) == [
        "doejane_12345", "smithjohn_222"]


def test_moodle_zip_with_folders_and_flat_names(course, tmp_path):
    files = {"Jane Doe_678_assignsubmission_file_/activations.ipynb": notebook("jane"),
             "José Núñez_679_assignsubmission_file_/activations.ipynb": notebook("jose old"),
             "José Núñez_679_assignsubmission_file_/activations (1).ipynb": notebook("jose new"),
             "Ann Lee_680_assignsubmission_file_activations.ipynb": notebook("ann"),
             "__MACOSX/Jane Doe_678_assignsubmission_file_/._activations.ipynb": b"\x00\x05"}
    report = collect(write_zip(tmp_path / "moodle.zip", files), ASSIGNMENT, course)

    assert {p.student for p in report.placed} == {"jane_doe_678", "jose_nunez_679", "ann_lee_680"}
    assert submitted(course, "jose_nunez_679") == notebook("jose new")
    assert submitted(course, "ann_lee_680") == notebook("ann")
    assert [s.input for s in report.superseded] == [
        "José Núñez_679_assignsubmission_file_/activations.ipynb"]
    assert [u.input for u in report.unplaced] == [
        "__MACOSX/Jane Doe_678_assignsubmission_file_/._activations.ipynb"]


def test_students_mapping_overrides_derived_ids(course, tmp_path):
    files = {"doejane_12345_678901_activations.ipynb": notebook("jane"),
             "Ann Lee_680_assignsubmission_file_activations.ipynb": notebook("ann"),
             "smithjohn_222_333_activations.ipynb": notebook("john")}
    students = {"12345": "s001", "Ann Lee": "s002", "smithjohn_222": "../escape"}
    report = collect(write_zip(tmp_path / "in.zip", files), ASSIGNMENT, course, students=students)

    assert {(p.input, p.student) for p in report.placed} == {
        ("doejane_12345_678901_activations.ipynb", "s001"),
        ("Ann Lee_680_assignsubmission_file_activations.ipynb", "s002")}
    assert report.unplaced == [("smithjohn_222_333_activations.ipynb",
                                "students maps it to '../escape', not a safe student id")]


def test_two_students_on_one_id_are_both_reported(course, tmp_path):
    files = {"Jane Doe/activations.ipynb": notebook("a"),
             "jane_doe/activations.ipynb": notebook("b")}
    report = collect(write_files(tmp_path / "in", files), ASSIGNMENT, course)

    assert report.placed == [] and report.superseded == []
    assert [u.input for u in report.unplaced] == sorted(files)
    assert all("duplicate target" in u.reason for u in report.unplaced)


def test_zip_slip_writes_nothing_outside_the_course(course, tmp_path):
    files = {"../evil.ipynb": notebook("evil"), "/tmp/abs/evil.ipynb": notebook("abs"),
             "alice/../../evil.ipynb": notebook("dots"), "C:/evil.ipynb": notebook("drive"),
             "..\\evil.ipynb": notebook("backslash"), "alice/activations.ipynb": notebook("ok")}
    source = write_zip(tmp_path / "in" / "evil.zip", files)
    before = {p for p in tmp_path.rglob("*")}
    report = collect(source, ASSIGNMENT, course)

    assert [p.input for p in report.placed] == ["alice/activations.ipynb"]
    assert sorted(u.input for u in report.unplaced) == sorted(set(files) - {report.placed[0].input})
    assert all(u.reason.startswith("unsafe path") for u in report.unplaced)
    new = {p for p in tmp_path.rglob("*")} - before
    assert all(p.is_relative_to(course / "submitted") for p in new)
    assert [p for p in new if p.is_file()] == [report.placed[0].path]
    assert not Path("/tmp/abs/evil.ipynb").exists()


def test_broken_notebooks_are_placed_byte_for_byte(course, tmp_path):
    files = {"empty/activations.ipynb": b"", "latin/activations.ipynb": b"\xff\xfe{caf\xe9"}
    report = collect(write_files(tmp_path / "in", files), ASSIGNMENT, course)

    assert report.ok and len(report.placed) == 2
    assert submitted(course, "empty") == b""
    assert submitted(course, "latin") == files["latin/activations.ipynb"]
    assert report.warnings == [("empty/activations.ipynb", "empty notebook (0 bytes)")]


def test_size_caps_stop_zip_bombs(course, tmp_path):
    files = {"bomb/activations.ipynb": b"0" * 2_000_000,  # deflates to a few kilobytes
             "a/activations.ipynb": b"a" * 600, "b/activations.ipynb": b"b" * 600}
    source = write_zip(tmp_path / "bomb.zip", files)
    assert source.stat().st_size < 20_000
    report = collect(source, ASSIGNMENT, course, max_file_bytes=1000, max_total_bytes=1000)

    assert [p.input for p in report.placed] == ["a/activations.ipynb"]
    reasons = dict(report.unplaced)
    assert "cap per file" in reasons["bomb/activations.ipynb"]
    assert "cap on the total size" in reasons["b/activations.ipynb"]
    submissions = [p for p in (course / "submitted").rglob("*") if p.is_file()]
    assert submissions == [course / "submitted" / "a" / ASSIGNMENT / NOTEBOOK]  # no leftovers


def test_existing_submission_is_kept_unless_overwrite(course, tmp_path):
    first = write_files(tmp_path / "first", {"alice/a.ipynb": notebook("first")})
    collect(first, ASSIGNMENT, course)
    again = write_files(tmp_path / "second", {"alice/a.ipynb": notebook("second")})

    report = collect(again, ASSIGNMENT, course)
    assert "already has a submission" in report.unplaced[0].reason
    assert submitted(course, "alice") == notebook("first")
    assert collect(again, ASSIGNMENT, course, overwrite=True).ok
    assert submitted(course, "alice") == notebook("second")


def test_wrong_arguments(course, tmp_path):
    with pytest.raises(ValueError, match="unknown assignment"):
        collect(tmp_path, "99-nothing", course)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match="neither a folder nor a zip"):
        collect(tmp_path / "notes.txt", ASSIGNMENT, course)


def test_cli_exit_codes(course, tmp_path, capsys):
    clean = write_files(tmp_path / "clean",
                        {"doejane_12345_678901_activations.ipynb": notebook("j")})
    (tmp_path / "students.csv").write_text("lms,student\n12345,s001\n")
    assert cli(["collect", str(clean), ASSIGNMENT, "--course", str(course),
                 "--students", str(tmp_path / "students.csv")]) == 0
    assert "placed      doejane_12345_678901_activations.ipynb" in capsys.readouterr().out
    assert submitted(course, "s001") == notebook("j")

    assert cli(["collect", str(clean), ASSIGNMENT, "--course", str(course)]) == 0  # a new id, doejane_12345
    assert cli(["collect", str(clean), ASSIGNMENT, "--course", str(course)]) == 1  # already submitted
    assert cli(["collect", str(clean), ASSIGNMENT, "--course", str(course), "--overwrite"]) == 0
    (clean / "doejane_12345_678902_report.pdf").write_bytes(b"%PDF")
    assert cli(["collect", str(clean), ASSIGNMENT, "--course", str(course), "--overwrite"]) == 1
    assert "UNPLACED    doejane_12345_678902_report.pdf" in capsys.readouterr().out
    assert cli(["collect", str(clean), "99-nothing", "--course", str(course)]) == 2


def test_collected_solution_grades_full_marks(course, tmp_path):
    """End to end: a correct notebook from a Canvas zip is found and graded by nbgrader."""
    from nbgrader.api import Gradebook

    solution = (COURSE_DIR / "source" / ASSIGNMENT / NOTEBOOK).read_bytes()
    zipped = write_zip(tmp_path / "canvas.zip",
                       {"doejane_LATE_12345_678901_activations-1.ipynb": solution})
    assert collect(zipped, ASSIGNMENT, course).ok
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    run_nbgrader(course, "autograde", ASSIGNMENT, "--force")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, "doejane_12345")
        assert (submission.score, submission.max_score) == (16, 16)


def test_damaged_zip_entry_is_reported(course, tmp_path):
    source = write_zip(tmp_path / "in.zip", {"alice/activations.ipynb": b"x" * 5000})
    data = bytearray(source.read_bytes())
    start = data.index(b"activations.ipynb") + len("activations.ipynb")  # compressed bytes follow
    data[start:start + 8] = b"\xff" * 8
    source.write_bytes(bytes(data))
    report = collect(source, ASSIGNMENT, course)

    assert report.placed == [] and report.unplaced[0].reason.startswith("could not be copied")
    assert [p for p in (course / "submitted").rglob("*")] == []  # nothing half-written
