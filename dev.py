#!/usr/bin/env python3
"""Set up the course's environment, then build the book or run the tests.

    python3 dev.py book     # create .venv if needed, install, build the site into _build/html
    python3 dev.py test     # create .venv if needed, install, run the whole test suite

Only the standard library is used here, so this runs on a fresh machine with Python >= 3.11.
The virtual environment is reinstalled only when pyproject.toml changes.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-from"


def run(*cmd: str | Path) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT)


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"Python >= 3.11 is required; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"Creating the virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    pip = (PYTHON, "-m", "pip", "install", "--disable-pip-version-check", "--quiet")
    if run(*pip, "--upgrade", "pip") or run(*pip, "-e", ".[test]"):
        sys.exit("Installing the course's dependencies failed (see pip's output above).")
    STAMP.write_text(wanted)


def build_book(extra: list[str]) -> int:
    # -W: warnings are errors; -n: nitpicky cross-references; --keep-going: report them all;
    # --all: re-read every page, so a warning on an unchanged page is not silently skipped
    # (notebook outputs still come from the execution cache, so this costs about a second).
    return run(BIN / "jupyter-book", "build", ".", "--builder", "html", "--all",
               "-W", "-n", "--keep-going", *extra)


def test(extra: list[str]) -> int:
    # One worker per core unless the caller chose (-n 0 runs in this process).
    # loadgroup keeps tests that share an expensive fixture (an assignment's grading run) on
    # one worker; see tests/assignments/conftest.py.
    parallel = [] if any(a.startswith("-n") for a in extra) else ["-n", "auto", "--dist", "loadgroup"]
    # The slowest tests, listed at the end: the suite must stay well under CI's 30 minutes.
    code = run(PYTHON, "-m", "pytest", *parallel, "--durations=15", *extra)
    if code == 5:  # pytest found nothing to run: that is a failure, not a pass
        print("pytest collected no tests", file=sys.stderr)
    return code


def main(argv: list[str]) -> int:
    commands = {"book": build_book, "test": test}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    setup()
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
