"""The course directory that nbgrader works in, and the release of student versions.

``assignments/`` is nbgrader's course root: ``source/<assignment>/<notebook>.ipynb`` holds the
instructor's notebooks. Releasing runs ``nbgrader generate_assignment`` in a scratch copy of
that folder, so a release (for the book, or for a class) never touches the instructor's
gradebook or leaves files in the repository.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

COURSE_DIR = Path(__file__).resolve().parents[1] / "assignments"
# What nbgrader writes into a course directory; none of it belongs in a copy of the sources.
GENERATED = ("release", "submitted", "autograded", "feedback", "gradebook.db", "__pycache__")


# ``python -m nbgrader``, after importing this package (which spares nbgrader a slow import:
# see autograder/__init__.py).
NBGRADER = [sys.executable, "-c", "import sys, autograder; from nbgrader.apps.nbgraderapp import main; "
            "sys.argv[0] = 'nbgrader'; main()"]


def assignments(course_dir: Path = COURSE_DIR) -> list[str]:
    """Names of the assignments, in order (their folders under source/)."""
    return sorted(p.name for p in (course_dir / "source").iterdir() if p.is_dir())


def run_nbgrader(course_dir: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run an nbgrader command in ``course_dir``, raising with its output if it fails.

    nbgrader starts helper programs (alembic, jupyter) by name, so this interpreter's
    environment goes first on the PATH; kernels get one BLAS thread each, since graders run
    many at once.
    """
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run([*NBGRADER, *args], cwd=course_dir, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed in {course_dir}:\n"
                           f"{result.stdout}\n{result.stderr}")
    return result


def copy_course(destination: Path, course_dir: Path = COURSE_DIR) -> Path:
    """Copy the course's sources (not nbgrader's outputs) to ``destination``."""
    shutil.copytree(course_dir, destination, ignore=shutil.ignore_patterns(*GENERATED))
    return destination


def release(output: Path, names: list[str] | None = None,
            course_dir: Path = COURSE_DIR) -> dict[str, Path]:
    """Write the student version of each assignment (all by default) to
    ``output/<assignment>/<notebook>.ipynb``; returns assignment -> notebook path."""
    names = names or assignments(course_dir)
    released = {}
    with tempfile.TemporaryDirectory() as scratch:
        course = copy_course(Path(scratch) / "course", course_dir)
        for name in names:
            run_nbgrader(course, "generate_assignment", name, "--force")
            target = Path(output) / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(course / "release" / name, target)
            (released[name],) = target.glob("*.ipynb")
    return released
