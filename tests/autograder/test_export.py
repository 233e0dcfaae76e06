"""autograder.export: one CSV row per submission, ungradable and ungraded ones included."""
from __future__ import annotations

import csv
import shutil

import pytest

from autograder import export
from autograder.__main__ import main as cli

from . import submissions as subs
from .submissions import ASSIGNMENT, NOTEBOOK


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    graded, records = subs.small_batch()
    copy = tmp_path_factory.mktemp("export") / "course"
    shutil.copytree(graded, copy)  # the tests below change submissions
    return copy, records


def read(path):
    with open(path, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_one_row_per_submission_with_status_and_reason(course, tmp_path):
    course, records = course
    export.write_csv(ASSIGNMENT, tmp_path / "g.csv", course)
    rows = {r["student"]: r for r in read(tmp_path / "g.csv")}
    assert list(read(tmp_path / "g.csv")[0]) == list(export.COLUMNS)
    assert sorted(rows) == sorted(records)
    for student, record in records.items():
        row = rows[student]
        assert (row["assignment"], row["status"], row["reason"]) == (
            ASSIGNMENT, record["status"], record["reason"])
        assert float(row["score"]) == record["score"] and row["max_score"] == "16"
    assert rows["correct"]["score"] == "16" and rows["naive_sigmoid"]["score"] == "11"
    assert rows["empty"]["status"] == "ungradable" and rows["empty"]["score"] == "0"
    assert rows["infinite_loop"]["status"].startswith("timeout")


def test_ungraded_and_changed_submissions_are_listed(course, tmp_path, capsys):
    course, _ = course
    subs.write(course, "late_student", {NOTEBOOK: b"{}"})
    (course / "submitted" / "correct" / ASSIGNMENT / NOTEBOOK).write_bytes(b"changed")
    assert cli(["export", ASSIGNMENT, "--course", str(course), "--csv", str(tmp_path / "g.csv"),
                "--no-feedback"]) == 1
    rows = {r["student"]: r for r in read(tmp_path / "g.csv")}
    assert rows["late_student"]["status"] == "not graded" and rows["late_student"]["score"] == ""
    assert rows["correct"]["status"] == "outdated (graded)"
    assert "changed since it was graded" in rows["correct"]["reason"]
    assert "late_student: not graded" in capsys.readouterr().err


def test_unknown_assignment(course, capsys):
    assert cli(["export", "99-nothing", "--course", str(course[0]), "--no-feedback"]) == 2
    assert "unknown assignment" in capsys.readouterr().err
