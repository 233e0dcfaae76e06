"""Collect a class's submissions into nbgrader's ``submitted/`` layout.

nbgrader grades ``<course>/submitted/<student>/<assignment>/<notebook>.ipynb``, and only a
notebook with the released name. Submissions arrive otherwise: a folder with one folder per
student (``<student>/<any name>.ipynb``, or one level deeper), or a zip exported by a learning
management system (LMS), one file per student, renamed to say whose it is:

- Canvas: ``doejane_12345_678901_activations-1.ipynb`` (last and first name, user id,
  submission id, the student's own file name), with ``_LATE`` after the name when late;
- Moodle: ``Jane Doe_678_assignsubmission_file_activations.ipynb``, or that name on a folder
  holding the student's file.

A student who submitted several notebooks gets the latest: the one named like the assignment's
notebook, then the highest resubmission suffix (``-2``, `` (2)``), then the newest file. It is
copied byte for byte (a broken notebook is the grade step's to flag) under the expected name.
Nothing is lost silently: every input file ends in the report as placed, superseded or
unplaced with the reason. Nothing is written outside ``<course>/submitted``, whatever the
names inside a zip say, and a zip cannot inflate past the size caps.
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import tempfile
import unicodedata
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO, Callable, Iterator, Mapping, NamedTuple

from autograder.course import COURSE_DIR, assignments

MAX_FILE_BYTES = 50 * 2**20
MAX_TOTAL_BYTES = 200 * 2**20

CANVAS = re.compile(r"(?P<name>[^_]+)(?:_LATE)?_(?P<id>\d+)_\d+_(?P<original>.+)")
MOODLE = re.compile(r"(?P<name>.+?)_(?P<id>\d+)_assignsubmission_[a-z]+_(?P<original>.*)")
# What an LMS, or the student's own computer, appends to the name of a file submitted again.
RESUBMISSION = re.compile(r"(?P<stem>.*?)(?:-(?P<dash>\d+)| \((?P<paren>\d+)\))?")
# A course id given by the caller becomes a folder name: no separators, no leading dot.
SAFE_STUDENT_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]*")


class Placed(NamedTuple):
    input: str
    student: str
    path: Path


class Superseded(NamedTuple):
    input: str
    student: str
    by: str  # the input placed instead


class Unplaced(NamedTuple):
    input: str
    reason: str


class Warned(NamedTuple):
    input: str
    message: str


@dataclass
class CollectReport:
    """Where every input file went; input names are paths relative to the folder or zip."""
    placed: list[Placed] = field(default_factory=list)
    superseded: list[Superseded] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    warnings: list[Warned] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every file was placed or superseded (warnings allowed)."""
        return not self.unplaced

    def __str__(self) -> str:
        lines = [f"{len(self.placed)} placed, {len(self.superseded)} superseded, "
                 f"{len(self.unplaced)} unplaced, {len(self.warnings)} warnings"]
        lines += [f"  placed      {p.input} -> {p.path}" for p in self.placed]
        lines += [f"  superseded  {s.input} (by {s.by})" for s in self.superseded]
        lines += [f"  UNPLACED    {u.input}: {u.reason}" for u in self.unplaced]
        lines += [f"  warning     {w.input}: {w.message}" for w in self.warnings]
        return "\n".join(lines)


class _Unplaceable(Exception):
    """Raised with the reason a file cannot be placed."""


@dataclass(frozen=True)
class _Entry:
    """One file of the source: its relative name, size, modification time, and its bytes."""
    name: str
    size: int
    mtime: float
    open: Callable[[], IO[bytes]]


@dataclass(frozen=True)
class _Candidate:
    entry: _Entry
    owner: tuple[str, ...]  # who the LMS or the folder says submitted it
    recency: tuple          # larger is later


def expected_notebook(assignment: str, course_dir: Path = COURSE_DIR) -> str:
    """The file name nbgrader grades for ``assignment`` (its source notebook's name)."""
    if assignment not in assignments(course_dir):
        raise ValueError(f"unknown assignment {assignment!r}; "
                         f"the course has {', '.join(assignments(course_dir))}")
    notebooks = sorted((course_dir / "source" / assignment).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise ValueError(f"assignment {assignment!r} must have exactly one notebook, "
                         f"found {[p.name for p in notebooks]}")
    return notebooks[0].name


def slug(text: str) -> str:
    """A filesystem-safe id made of [a-z0-9_-]: ``"José Núñez"`` -> ``"jose_nunez"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9-]+", "_", ascii_text.lower()).strip("_-")


def read_students(path: Path) -> dict[str, str]:
    """Read a CSV with the columns ``lms`` (an LMS user id, or a name as the LMS or the
    folder spells it) and ``student`` (the course's student id) into a mapping."""
    with open(path, newline="", encoding="utf-8-sig") as file:
        rows = csv.DictReader(file)
        if not {"lms", "student"} <= set(rows.fieldnames or ()):
            raise ValueError(f"{path}: needs the columns 'lms' and 'student', "
                             f"found {rows.fieldnames}")
        return {row["lms"].strip(): row["student"].strip() for row in rows}


def collect(source: Path | str, assignment: str, course_dir: Path = COURSE_DIR, *,
            students: Mapping[str, str] | None = None, overwrite: bool = False,
            max_file_bytes: int = MAX_FILE_BYTES,
            max_total_bytes: int = MAX_TOTAL_BYTES) -> CollectReport:
    """Copy each student's latest notebook from ``source`` (a folder or a .zip) to
    ``course_dir/submitted/<student>/<assignment>/<expected notebook name>``.

    ``students`` maps an LMS user id or name (or a student folder's name) to the course's
    student id; anyone not in it gets an id derived from the LMS name (``doejane_12345``,
    ``jane_doe_678``) or from the folder name. An existing submission is kept, and the file
    reported, unless ``overwrite``. No file may exceed ``max_file_bytes``, nor all of them
    together ``max_total_bytes``, once extracted.
    """
    source, course_dir = Path(source), Path(course_dir)
    notebook = expected_notebook(assignment, course_dir)
    submitted = course_dir / "submitted"
    report = CollectReport()
    by_student: dict[str, list[_Candidate]] = {}
    with _entries(source) as entries:
        for entry in entries:
            try:
                student, candidate = _identify(entry, PurePosixPath(notebook).stem, students)
            except _Unplaceable as reason:
                report.unplaced.append(Unplaced(entry.name, str(reason)))
            else:
                by_student.setdefault(student, []).append(candidate)

        total = 0
        submitted.mkdir(exist_ok=True)
        for student, candidates in sorted(by_student.items()):
            names = sorted(c.entry.name for c in candidates)
            if len({c.owner for c in candidates}) > 1:
                report.unplaced += [Unplaced(n, f"duplicate target: {', '.join(names)} all "
                                               f"belong to student {student!r}") for n in names]
                continue
            latest, *older = sorted(candidates, key=lambda c: c.recency, reverse=True)
            report.superseded += [Superseded(c.entry.name, student, latest.entry.name)
                                  for c in older]
            destination = submitted / student / assignment / notebook
            try:
                if destination.exists() and not overwrite:
                    raise _Unplaceable(f"{student!r} already has a submission at "
                                       f"{destination}; pass overwrite to replace it")
                total += _copy(latest.entry, destination, submitted,
                               max_file_bytes, max_total_bytes - total)
            except _Unplaceable as reason:
                report.unplaced.append(Unplaced(latest.entry.name, str(reason)))
                continue
            report.placed.append(Placed(latest.entry.name, student, destination))
            if latest.entry.size == 0:
                report.warnings.append(Warned(latest.entry.name, "empty notebook (0 bytes)"))
    return report


@contextmanager
def _entries(source: Path) -> Iterator[list[_Entry]]:
    """The files of a folder (recursively) or of a zip, in name order."""
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file())
        yield [_Entry(p.relative_to(source).as_posix(), p.stat().st_size, p.stat().st_mtime,
                      partial(p.open, "rb")) for p in files]
    elif source.is_file() and zipfile.is_zipfile(source):
        try:
            archive = zipfile.ZipFile(source)
        except zipfile.BadZipFile as error:
            raise ValueError(f"source {source} is a damaged zip file: {error}") from error
        with archive:
            yield [_Entry(info.filename, info.file_size, _zip_time(info),
                          partial(archive.open, info))
                   for info in archive.infolist() if not info.is_dir()]
    else:
        raise ValueError(f"source {source} is neither a folder nor a zip file")


def _zip_time(info: zipfile.ZipInfo) -> float:
    try:
        return datetime(*info.date_time).timestamp()
    except ValueError:  # a zip writer that stored no valid date
        return 0.0


def _identify(entry: _Entry, notebook_stem: str, students: Mapping[str, str] | None
              ) -> tuple[str, _Candidate]:
    """Whose notebook ``entry`` is, or raise _Unplaceable with the reason."""
    parts = entry.name.replace("\\", "/").split("/")
    if (entry.name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", entry.name)
            or ".." in parts):
        raise _Unplaceable("unsafe path (absolute or leading out of the folder)")
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        raise _Unplaceable("hidden or system file (checkpoint, macOS metadata)")
    if not parts[-1].lower().endswith(".ipynb"):
        raise _Unplaceable(f"not a notebook ({PurePosixPath(parts[-1]).suffix or 'no suffix'})")

    # The LMS names the top-level file (Canvas, Moodle) or folder (Moodle); else the top folder
    # is the student's.
    lms = CANVAS.fullmatch(parts[0]) or MOODLE.fullmatch(parts[0])
    if lms:
        owner = (lms["id"], lms["name"])
        derived = "_".join(filter(None, (slug(lms["name"]), lms["id"])))
        original = lms["original"] if len(parts) == 1 else parts[-1]
    elif len(parts) > 1:
        owner, derived, original = (parts[0],), slug(parts[0]), parts[-1]
    else:
        raise _Unplaceable("no student: a file at the top level must have an LMS's name")

    mapped = next((students[key] for key in (*owner, derived) if students and key in students),
                  None)
    if mapped is not None and not SAFE_STUDENT_ID.fullmatch(mapped):
        raise _Unplaceable(f"students maps it to {mapped!r}, not a safe student id")
    student = mapped or derived
    if not student:
        raise _Unplaceable(f"no student id could be derived from {parts[0]!r}; "
                           "give one in students")

    resubmission = RESUBMISSION.fullmatch(PurePosixPath(original).stem)
    recency = (resubmission["stem"].lower() == notebook_stem.lower(),
               int(resubmission["dash"] or resubmission["paren"] or 0), entry.mtime, entry.name)
    return student, _Candidate(entry, owner, recency)


def _copy(entry: _Entry, destination: Path, staging: Path, max_file: int, max_left: int) -> int:
    """Copy ``entry`` to ``destination`` through a file in ``staging``, so that a copy that
    fails half-way leaves nothing behind; returns the number of bytes copied. Sizes are
    counted as the bytes come, since a zip's header may understate them."""
    def check(size: int) -> None:
        if size > max_file:
            raise _Unplaceable(f"larger than the {max_file}-byte cap per file")
        if size > max_left:
            raise _Unplaceable(f"over the cap on the total size ({max_left} bytes left)")

    check(entry.size)
    handle, name = tempfile.mkstemp(suffix=".part", dir=staging)
    staged, copied = Path(name), 0
    try:
        with os.fdopen(handle, "wb") as out, entry.open() as data:
            while chunk := data.read(2**16):
                copied += len(chunk)
                check(copied)
                out.write(chunk)
        destination.parent.mkdir(parents=True, exist_ok=True)
        staged.replace(destination)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
            OSError) as error:  # RuntimeError: an encrypted zip entry
        raise _Unplaceable(f"could not be copied: {error}") from error
    finally:
        staged.unlink(missing_ok=True)
    return copied


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``collect`` subcommand's arguments (for ``python -m autograder``'s subparser)."""
    parser.add_argument("source", type=Path, help="a folder, or a zip exported by an LMS")
    parser.add_argument("assignment", help="e.g. 02-activations")
    parser.add_argument("--course", type=Path, default=COURSE_DIR, help="nbgrader's course folder")
    parser.add_argument("--students", type=Path, help="CSV with columns lms,student")
    parser.add_argument("--overwrite", action="store_true", help="replace existing submissions")


def run(args: argparse.Namespace) -> int:
    """Collect as ``args`` say and print the report; exit code 0 if every file was placed or
    superseded, 1 if some were not, 2 on a wrong argument."""
    try:
        students = read_students(args.students) if args.students else None
        report = collect(args.source, args.assignment, args.course, students=students,
                         overwrite=args.overwrite)
    except (ValueError, OSError) as error:
        print(f"collect: {error}", file=sys.stderr)
        return 2
    print(report)
    return 0 if report.ok else 1
