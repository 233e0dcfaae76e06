"""The instructor's command line: ``python -m autograder <command> ...``.

    python -m autograder release [ASSIGNMENT ...] [--output DIR]
        write the student versions (all assignments by default) to DIR (default: release/)
    python -m autograder collect SOURCE ASSIGNMENT [--students CSV] [--overwrite]
        put submissions (per-student folders, or an LMS zip) into nbgrader's submitted/
    python -m autograder grade ASSIGNMENT [--workers N] [--cell-timeout S] [--regrade] ...
        grade every submission (in parallel, sandboxed, verified); resumes where it stopped
    python -m autograder export ASSIGNMENT [--csv PATH] [--no-feedback]
        write the grades CSV and each student's feedback HTML
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import collect, course, export, grade


def _release(args) -> int:
    known = course.assignments()
    unknown = [name for name in args.assignments if name not in known]
    if unknown:
        print(f"unknown assignment(s) {', '.join(unknown)}; the course has: {', '.join(known)}",
              file=sys.stderr)
        return 2
    for name, notebook in course.release(Path(args.output), args.assignments or None).items():
        print(f"{name}: {notebook}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    release = commands.add_parser("release", help="write the student versions of assignments")
    release.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    release.add_argument("--output", default="release", help="folder to write them to")
    release.set_defaults(run=_release)
    gather = commands.add_parser("collect", help="put submissions into nbgrader's submitted/")
    collect.add_arguments(gather)
    gather.set_defaults(run=collect.run)
    grading = commands.add_parser("grade", help="autograde every submission of an assignment")
    grade.add_arguments(grading)
    grading.set_defaults(run=grade.run)
    exporting = commands.add_parser("export", help="write the grades CSV and feedback HTML")
    export.add_arguments(exporting)
    exporting.set_defaults(run=export.run)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
