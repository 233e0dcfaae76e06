"""Export an assignment's grades: a CSV with one row per submission, and each student's
feedback (see ``autograder.feedback``).

The rows come from the grade step's records (``autograder.grade.read_records``), which hold
what the gradebook does not: the status and its reason. Every folder under ``submitted/``
gets a row, so a submission that was never graded (the grade step was interrupted) is listed
as ``not graded`` rather than missing; a record whose submission has changed since is listed
as ``outdated`` with its old score.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from pathlib import Path

from autograder.course import COURSE_DIR
from autograder.grade import _source_notebook, read_records, submission_key, submissions

COLUMNS = ("student", "assignment", "score", "max_score", "status", "reason")
NOT_GRADED, OUTDATED = "not graded", "outdated"


def rows(assignment: str, course_dir: Path = COURSE_DIR) -> list[dict]:
    """One row per submission of ``assignment`` (and per record without a submission left)."""
    course_dir = Path(course_dir).resolve()
    source = _source_notebook(course_dir, assignment)
    source_hash = hashlib.sha256(source.read_bytes()
                                 + (course_dir / "nbgrader_config.py").read_bytes()).hexdigest()
    records = read_records(course_dir, assignment)
    found = submissions(course_dir, assignment)
    table = []
    for student in sorted(set(found) | set(records)):
        record = records.get(student)
        if record is None:
            table.append({"student": student, "assignment": assignment, "score": "",
                          "max_score": "", "status": NOT_GRADED,
                          "reason": "no result yet: run `python -m autograder grade`"})
            continue
        row = {"student": student, "assignment": assignment,
               "score": f"{record['score']:g}", "max_score": f"{record['max_score']:g}",
               "status": record["status"], "reason": record["reason"]}
        if student not in found:
            row["reason"] = "; ".join(filter(None, ["the submission was removed after grading",
                                                    record["reason"]]))
        elif submission_key(found[student], source_hash) != record["key"]:
            row["status"] = f"{OUTDATED} ({record['status']})"
            row["reason"] = "; ".join(filter(None, ["the submission or the assignment changed "
                                                    "since it was graded", record["reason"]]))
        table.append(row)
    return table


def write_csv(assignment: str, path: Path, course_dir: Path = COURSE_DIR) -> list[dict]:
    table = rows(assignment, course_dir)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, COLUMNS)
        writer.writeheader()
        writer.writerows(table)
    return table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="e.g. 02-activations")
    parser.add_argument("--course", type=Path, default=COURSE_DIR, help="nbgrader's course folder")
    parser.add_argument("--csv", type=Path, help="where to write the grades "
                        "(default: <course>/grades-<assignment>.csv)")
    parser.add_argument("--no-feedback", dest="feedback", action="store_false",
                        help="write the CSV only")
    parser.add_argument("--db", dest="db_url", help="gradebook URL (default: the course's "
                        "gradebook.db)")


def run(args: argparse.Namespace) -> int:
    """Write the CSV (and the feedback); 0 when every submission has a current result, 1 when
    some are not graded or outdated, 2 on a bad argument."""
    from autograder import feedback

    destination = args.csv or Path(args.course) / f"grades-{args.assignment}.csv"
    try:
        table = write_csv(args.assignment, destination, args.course)
    except ValueError as error:
        print(f"export: {error}", file=sys.stderr)
        return 2
    print(f"{len(table)} row(s) -> {destination}")
    if args.feedback:
        written = feedback.generate(args.assignment, args.course, db_url=args.db_url)
        print(f"{len(written)} feedback file(s) -> {Path(args.course) / 'feedback'}")
    stale = [r for r in table if r["status"] == NOT_GRADED or r["status"].startswith(OUTDATED)]
    for row in stale:
        print(f"  {row['student']}: {row['status']}", file=sys.stderr)
    return 1 if stale else 0
