"""Grade every submission of an assignment: in parallel, one process per submission, isolated,
verified outside the student's kernel, and honest about every submission it could not grade.

    grade("02-activations")   # or: python -m autograder grade 02-activations

Design (the decisions, and why):

- **One scratch course per submission.** The parent builds a template once per run (the
  course's ``nbgrader_config.py`` and ``source/<assignment>/``, and a gradebook made by
  ``nbgrader generate_assignment``). A worker copies it into a fresh temporary folder, puts the
  one submission under ``submitted/<student>/<assignment>/`` and runs ``nbgrader autograde
  ASSIGNMENT --student STUDENT`` in a process of its own, in its own session (killed as a
  group): a child forked from the worker, which imported nbgrader once (the import alone costs
  seconds of CPU, which a fresh interpreter per submission would pay every time), or a fresh
  interpreter where the worker runs threads (a Dask worker: fork could deadlock). No two runs
  share a gradebook, a working directory or a kernel, so parallel runs cannot collide;
  nbgrader's API changes the working directory, hence processes, never threads.
- **The parent alone writes the course's gradebook** (one writer: no "database is locked"),
  through nbgrader's Gradebook API: the student, the submission, the auto score of every graded
  cell. Scores are read from the scratch gradebook, which the sandboxed kernel cannot see, never
  from anything the student's kernel printed.
- **Preflight before anything runs.** A missing, empty, non-UTF-8, non-JSON or non-nbformat
  file ends as ``ungradable`` with the reason; a notebook under another name is graded under
  the expected one and said so; deleted and reordered cells are reported.
- **A cell that never finishes does not sink the submission.** nbgrader's Execute is replaced
  by ``GuardedExecute``, which logs (outside the kernel's reach) which cell it runs. A cell that
  exceeds the per-cell time limit is not interrupted but stopped with its kernel (a loop can
  swallow KeyboardInterrupt, and plain nbgrader then discards the whole submission); a kernel
  that dies (``os._exit``, a signal, the memory cap) ends the run likewise. The notebook is then
  run again with that cell replaced by an error saying why (at most ``MAX_STOPPED_CELLS``
  times), so every part that does not depend on the offending cell keeps its points. A run that
  fails before its first cell (a kernel that did not start, a port taken) is retried once.
- **Stderr is not failure.** nbgrader scores any stderr output of a graded cell as 0; a correct
  answer must not lose points because student code printed a warning there. ``StderrIsNotFailure``
  turns stderr streams of graded cells into stdout before nbgrader scores them: a hidden test
  fails by raising, which is unaffected (and ``course_lib.testing`` checks warnings itself).
- **Limits.** Per cell (``--cell-timeout``), per nbgrader run (``--timeout``, wall clock), and a
  memory cap and CPU-time cap for the kernel: through ``autograder.sandbox.kernel_setup`` where
  bubblewrap works (the kernel sees neither the gradebook, nor ``source/``, nor the course, nor
  the verification specs), else as resource limits on the whole nbgrader run (nothing then
  pretends to be isolated; the record says ``sandboxed: false``). A local worker forks its
  sandboxed kernels from a warm zygote of its own (``autograder.zygote``: a kernel then
  starts in 0.1 s of CPU instead of 1.3 s), which it resets between submissions, and which
  bounds its kernels' processes and memory together where a control group can be made; a
  Dask worker, which grades several at once, starts each kernel through bubblewrap. Kernels' sockets live in a
  short folder of their own under /tmp (a Unix socket path is limited to 107 bytes, which a
  deep TMPDIR would exceed), and nbgrader's temporary files in the submission's scratch.
- **Verdicts outside the kernel.** ``autograder.scan`` flags suspicious code and
  ``autograder.verify`` re-runs the solution cells in a fresh process and compares arrays with
  the reference. A part refuted by verification scores 0 with the verdict as the reason; if
  nbgrader had given it points, the submission is flagged ``verification-mismatch``.
- **Durable and resumable.** Each result is stored as it arrives, as
  ``<course>/autograded/.autograder/<assignment>/<student>.json`` (nbgrader ignores hidden
  folders), keyed by a hash of the submitted files and of the source notebook. A rerun grades
  only submissions without a current record; ``regrade=True`` grades all again. The gradebook
  is written before the record, so an interruption between the two only means grading again.
- **Workers**: a local process pool (``os.cpu_count()`` by default), or a Dask distributed
  cluster given its scheduler address (workers must share the course's filesystem).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections import Counter
from contextlib import nullcontext
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.util import Finalize
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Unicode

from autograder import sandbox, scan, verify
from autograder.course import COURSE_DIR, assignments, run_nbgrader
from autograder.zygote import Zygote

GRADED, UNGRADABLE, TIMEOUT, CRASHED, ERROR = "graded", "ungradable", "timeout", "crashed", "error"
MAX_STOPPED_CELLS = 5
STATE_FOLDER = ".autograder"
LOG_TAIL = 5000  # characters of nbgrader's log kept in the record when grading failed
RECORD_VERSION = 1


@dataclass(frozen=True)
class Limits:
    """What one submission may use. ``cell_timeout`` and ``timeout`` (one nbgrader run) are
    wall-clock seconds; ``memory_bytes`` caps the kernel's address space; ``sandbox`` None
    means "bubblewrap when available"."""
    cell_timeout: float = 60
    timeout: float = 600
    memory_bytes: int | None = 2 * 2**30
    sandbox: bool | None = None
    verify: bool = True

    @property
    def cpu_seconds(self) -> int:
        return int(self.timeout) + 5


@dataclass(frozen=True)
class Job:
    """One submission to grade (what a worker receives)."""
    course_dir: str
    assignment: str
    student: str
    notebook: str          # the name nbgrader grades
    template: str          # the scratch course prepared by the parent
    key: str
    limits: Limits


# --- inside nbgrader (the trusted process that drives the kernel) ---------------------------

class GuardedExecute(Execute):
    """nbgrader's Execute, logging each cell's start and end to ``progress_file`` and giving
    the cells listed in ``stopped`` (index -> reason) an error output instead of running them.
    A timeout or a dead kernel ends the run: the worker runs the notebook again without it."""

    progress_file = Unicode("", help="JSON-lines log of cell events").tag(config=True)
    stopped = Dict({}, help="cell index (as a string) -> why it is not run").tag(config=True)

    def _log_event(self, **event) -> None:
        if self.progress_file:
            with open(self.progress_file, "a") as log:
                log.write(json.dumps(event) + "\n")

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return super().preprocess_cell(cell, resources, index)
        reason = self.stopped.get(str(index))
        if reason is not None:
            cell.outputs = [nbformat.v4.new_output(
                "error", ename="CellStopped", evalue=reason, traceback=[f"CellStopped: {reason}"])]
            cell.execution_count = None
            return cell, resources
        kernel = getattr(getattr(self.km, "provisioner", None), "pid", None)
        self._log_event(event="start", cell=index, kernel=kernel)
        try:
            result = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            self._log_event(event="timeout", cell=index)
            raise
        except DeadKernelError:
            self._log_event(event="died", cell=index)
            raise
        self._log_event(event="done", cell=index)
        return result


class StderrIsNotFailure(NbGraderPreprocessor):
    """Turn stderr streams of graded cells into stdout before nbgrader scores them (nbgrader
    gives 0 to a graded cell with any stderr output; only a raised error should fail it)."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources


# --- preflight ------------------------------------------------------------------------------

@dataclass
class Preflight:
    notebook: Path | None          # the file to grade, None when ungradable
    problem: str = ""              # why it is ungradable
    notes: list[str] = field(default_factory=list)


def preflight(folder: Path, expected: str) -> Preflight:
    """Decide, without running anything, whether the submission in ``folder`` can be graded
    (deleted, changed or reordered cells are the scan's to flag)."""
    notebooks = sorted(folder.glob("*.ipynb"))
    notes = []
    if (folder / expected).is_file():
        chosen = folder / expected
    elif len(notebooks) == 1:
        chosen = notebooks[0]
        notes.append(f"renamed notebook: {chosen.name} graded as {expected}")
    elif not notebooks:
        return Preflight(None, f"no notebook submitted (expected {expected})")
    else:
        return Preflight(None, f"{len(notebooks)} notebooks and none named {expected}: "
                               f"{', '.join(p.name for p in notebooks)}")
    data = chosen.read_bytes()
    if not data.strip():
        return Preflight(None, f"empty file ({len(data)} bytes)", notes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return Preflight(None, f"not UTF-8 text: byte 0x{data[error.start]:02x} at offset "
                               f"{error.start} (a notebook is UTF-8 JSON)", notes)
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return Preflight(None, f"not valid JSON (line {error.lineno}, column {error.colno}: "
                               f"{error.msg}): the file is damaged or not a notebook", notes)
    try:
        nbformat.validate(nbformat.reads(text, as_version=4))
    except Exception as error:  # nbformat raises several types for a malformed notebook
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return Preflight(None, f"not a Jupyter notebook (nbformat 4): {first}", notes)
    return Preflight(chosen, "", notes)


# --- the worker -----------------------------------------------------------------------------

def grade_submission(job: Job) -> dict:
    """Grade one submission (in a worker process); returns its record (JSON-serializable),
    whatever happens: a failure of the grader itself becomes a record with status error."""
    if _interrupted:
        raise KeyboardInterrupt("the run was interrupted")
    started = time.monotonic()
    try:
        return _grade_submission(job, started)
    except Exception as error:
        return _error_record(job, f"the grader failed: {type(error).__name__}: {error}", started)


def _error_record(job: Job, reason: str, started: float) -> dict:
    source = Path(job.template) / "source" / job.assignment / job.notebook
    parts = _max_points(nbformat.read(source, as_version=4))
    return {"version": RECORD_VERSION, "student": job.student, "assignment": job.assignment,
            "key": job.key, "status": ERROR, "reason": reason, "score": 0.0,
            "max_score": sum(parts.values()),
            "parts": {g: {"score": 0.0, "max_score": m} for g, m in parts.items()},
            "flags": [], "notes": [], "sandboxed": False, "verified": False,
            "seconds": round(time.monotonic() - started, 3)}


def _grade_submission(job: Job, started: float) -> dict:
    course, limits = Path(job.course_dir), job.limits
    folder = course / "submitted" / job.student / job.assignment
    source_path = Path(job.template) / "source" / job.assignment / job.notebook
    source = nbformat.read(source_path, as_version=4)
    parts = _max_points(source)
    # notes: what the student's feedback shows too; flags: for the instructor only (scan
    # findings, verification mismatches)
    record = {"version": RECORD_VERSION, "student": job.student, "assignment": job.assignment,
              "key": job.key, "status": UNGRADABLE, "reason": "", "score": 0.0,
              "max_score": sum(parts.values()), "parts": {}, "flags": [], "notes": [],
              "sandboxed": False, "verified": False}
    check = preflight(folder, job.notebook)
    record["notes"] = list(check.notes)
    autograded = course / "autograded" / job.student / job.assignment
    if check.notebook is None:
        record["reason"] = check.problem
        record["parts"] = {g: {"score": 0.0, "max_score": m} for g, m in parts.items()}
        shutil.rmtree(autograded, ignore_errors=True)  # no stale feedback from an older file
        return _finish(record, started)

    timings = record["timings"] = {}
    zygote = _worker_zygote(job)
    # With a zygote, the scratch lies in its root, which its sandbox hides.
    with tempfile.TemporaryDirectory(prefix=f"grade-{job.student}-",
                                     dir=zygote.root if zygote else None) as scratch_name, \
            (nullcontext(zygote.sockets) if zygote else sandbox.socket_folder()) as sockets:
        scratch = Path(scratch_name)
        outcome = _autograde(job, folder, check.notebook, scratch, Path(sockets), zygote)
        timings["nbgrader"] = round(time.monotonic() - started, 3)
        record.update(status=outcome["status"], sandboxed=outcome["sandboxed"])
        if "log" in outcome:
            record["log"] = outcome["log"]
        record["notes"] += outcome["notes"]
        scores = outcome["scores"]
        record["parts"] = {g: {"score": float(scores.get(g, 0.0)), "max_score": m,
                               "nbgrader": float(scores.get(g, 0.0))} for g, m in parts.items()}
        if outcome["autograded"] is not None:
            _replace_folder(outcome["autograded"], autograded)
        else:
            shutil.rmtree(autograded, ignore_errors=True)
        if zygote:
            zygote.reset()  # nothing the kernels left runs on, or stays in the shared folder
    if outcome["status"] != ERROR:
        clock = time.monotonic()
        _scan(record, check.notebook, source_path)
        timings["scan"] = round(time.monotonic() - clock, 3)
        if limits.verify:
            clock = time.monotonic()
            _verify(record, check.notebook, job, outcome.get("stopped", frozenset()))
            timings["verify"] = round(time.monotonic() - clock, 3)
    record["score"] = sum(p["score"] for p in record["parts"].values())
    record["reason"] = _reason(record)
    return _finish(record, started)


def _finish(record: dict, started: float) -> dict:
    flags = sorted({f["code"] for f in record["flags"]})
    record["status"] = record["status"] + (f"; flagged: {', '.join(flags)}" if flags else "")
    record["seconds"] = round(time.monotonic() - started, 3)
    return record


def _reason(record: dict) -> str:
    lost = [f"{g} {p['score']:g}/{p['max_score']:g}" for g, p in record["parts"].items()
            if p["score"] < p["max_score"]]
    pieces = list(record["notes"])
    pieces += [f"{g}: " + " ".join(p["verdict"].split()) for g, p in record["parts"].items()
               if p.get("verdict")]  # one line: a CSV cell
    pieces += [f"flag {f['code']}: {f['message']}" for f in record["flags"]]
    if lost:
        pieces.append("lost points: " + ", ".join(lost))
    return "; ".join(pieces)


def _max_points(source) -> dict[str, float]:
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"].get("points", 0))
            for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")}


def _replace_folder(new: Path, target: Path) -> None:
    """Put a copy of ``new`` at ``target``, replacing what was there, without a moment where
    a half-copied folder is visible."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=target.parent))
    shutil.copytree(new, staging / "new")
    old = target.parent / f".old-{target.name}-{os.getpid()}"
    if target.exists():
        target.rename(old)
    (staging / "new").rename(target)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def _autograde(job: Job, folder: Path, notebook: Path, scratch: Path, sockets: Path,
               zygote: Zygote | None) -> dict:
    """Run nbgrader on one submission until it completes, stopping offending cells; its
    kernels' sockets go into ``sockets``, and come from ``zygote`` when given."""
    template = Path(job.template)
    course = scratch / "course"
    course.mkdir()
    if zygote:  # the kernels' folders must lie in what the zygote's sandbox shows
        (zygote.shared / "autograded").mkdir()
        (course / "autograded").symlink_to(zygote.shared / "autograded")
    for name in ("gradebook.db", "nbgrader_config.py"):
        shutil.copy2(template / name, course / name)
    shutil.copytree(template / "source", course / "source")
    target = course / "submitted" / job.student / job.assignment
    target.mkdir(parents=True)
    for extra in folder.iterdir():  # e.g. nbgrader's timestamp.txt
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copy2(extra, target / extra.name)
    shutil.copy2(notebook, target / job.notebook)

    stopped: dict[str, str] = {}
    notes: list[str] = []
    status = GRADED
    start_failures = 0
    env, extra_args, sandboxed = _kernel_setup(scratch, job, sockets, zygote)
    kernel_limited = bool(env or extra_args)
    cells = nbformat.read(target / job.notebook, as_version=4).cells
    while True:
        progress = scratch / f"progress-{len(stopped)}-{start_failures}.jsonl"
        returncode, log, killed = _run_nbgrader(course, job, stopped, progress, env, extra_args,
                                               kernel_limited)
        events = _events(progress)
        _kill_kernels(events)
        output = course / "autograded" / job.student / job.assignment
        if returncode == 0 and (output / job.notebook).is_file():
            return {"status": status, "scores": _scores(course, job), "autograded": output,
                    "notes": notes, "sandboxed": sandboxed,
                    "stopped": frozenset(int(i) for i in stopped)}
        offending = _offending_cell(events, killed, job.limits)
        if offending is None:
            start_failures += 1
            if start_failures <= 1:
                time.sleep(random.uniform(0.2, 1.0))  # a port or a race: try again, later
                continue
            return {"status": ERROR, "scores": {}, "autograded": None, "sandboxed": sandboxed,
                    "notes": notes + [f"nbgrader failed: {_last_error(log)}"],
                    "log": log[-LOG_TAIL:]}
        index, kind, why = offending
        grade_id = cells[index].metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
        notes.append(f"{grade_id}: {why}")
        status = TIMEOUT if kind == "timeout" else CRASHED if status == GRADED else status
        if str(index) in stopped or len(stopped) >= MAX_STOPPED_CELLS:
            return {"status": status, "scores": {}, "autograded": None, "sandboxed": sandboxed,
                    "notes": notes + ["gave up: too many cells had to be stopped"]}
        stopped[str(index)] = f"this cell was stopped: {why}"


def _offending_cell(events: list[dict], killed: bool, limits: Limits):
    """(cell index, kind, explanation) of the cell that ended a failed run, or None when no
    cell is to blame (the run failed before its first cell, or in nbgrader after the last)."""
    started = [e for e in events if e["event"] == "start"]
    if not started:
        return None
    last = events[-1]
    if last["event"] == "timeout":
        return (last["cell"], "timeout",
                f"still running after the {limits.cell_timeout:g} s limit per cell")
    if killed:
        return (started[-1]["cell"], "timeout",
                f"the submission's {limits.timeout:g} s time limit ran out in this cell")
    if last["event"] in ("died", "start"):
        return (started[-1]["cell"], "died", "the kernel died while running this cell "
                "(os._exit, a crash, or the memory limit)")
    return None  # every cell it started finished: nbgrader itself failed


def _events(progress: Path) -> list[dict]:
    if not progress.exists():
        return []
    events = []
    for line in progress.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a line cut short when the run was killed
    return events


def _kill_kernels(events: list[dict]) -> None:
    """Kill what is left of the run's kernels: jupyter starts each kernel in a session of its
    own, which killing nbgrader's group does not reach."""
    for pid in {e.get("kernel") for e in events if e.get("kernel")}:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _last_error(log: str) -> str:
    """The most telling line of a failed nbgrader run: the last exception it printed."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    exceptions = [line for line in lines if re.match(r"[\w.]+(Error|Exception): ", line)]
    return (exceptions or lines or ["no output"])[-1][:300]


def _kernel_hidden(job: Job) -> list[Path]:
    """What the kernels must not see beyond what ``autograder.sandbox`` always hides."""
    # A path inside one of those must not be named again (bubblewrap cannot mount into a
    # folder it has emptied).
    always = [p.resolve() for p in sandbox.default_hidden()]
    return [p for p in (Path(job.course_dir).resolve(), Path(job.template).resolve())
            if not any(p == a or a in p.parents for a in always)]


def _kernel_setup(scratch: Path, job: Job, sockets: Path,
                  zygote: Zygote | None = None) -> tuple[dict, list[str], bool]:
    """(environment, nbgrader arguments, sandboxed) that confine the kernels through
    ``autograder.sandbox`` unless refused; without it the limits apply to the whole nbgrader
    run (``_run_nbgrader``) and nothing is isolated. Kernels' sockets go into ``sockets``."""
    if job.limits.sandbox is False:
        return {}, [], False
    sandboxed = sandbox.available()
    if job.limits.sandbox and not sandboxed:
        raise RuntimeError("sandboxing was required but bubblewrap does not work here")
    # kernel_setup hides ``scratch`` itself (the scratch gradebook, source/, the config, the
    # progress log) except the folder the kernel runs in, and always the autograder package
    # (verification specs) and the repository's course folder; a zygote's sandbox hides its
    # root, where the scratch is.
    env, args = sandbox.kernel_setup(scratch, hidden=_kernel_hidden(job),
                                     memory_bytes=job.limits.memory_bytes,
                                     cpu_seconds=job.limits.cpu_seconds, sockets=sockets,
                                     zygote=zygote.control if zygote else None)
    return dict(env), list(args), sandboxed


def _run_nbgrader(course: Path, job: Job, stopped: dict, progress: Path, env_extra: dict,
                  extra_args: list[str], kernel_limited: bool) -> tuple[int, str, bool]:
    """One ``nbgrader autograde`` run in a process and session of its own; returns (exit
    code, log, whether it was killed for exceeding the submission's time limit)."""
    config = json.dumps({"GuardedExecute": {"progress_file": str(progress), "stopped": stopped}})
    (course / "run_config.json").write_text(config)
    # Temporary files (jupyter_client's connection files among them, left behind when a run
    # is killed) go into the submission's scratch folder, which the worker always removes.
    temporary = course.parent / "tmp"
    temporary.mkdir(exist_ok=True)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "JUPYTER_RUNTIME_DIR": str(course / "runtime"), "TMPDIR": str(temporary), **env_extra}
    args = ["autograde", job.assignment, "--student", job.student, "--force", *extra_args]
    limits = None if kernel_limited else (job.limits.memory_bytes, job.limits.cpu_seconds)
    log_path = course / "nbgrader.log"
    with open(log_path, "wb") as log:
        if threading.active_count() == 1:
            pid = _fork_nbgrader(course, env, args, limits, log.fileno())
        else:  # fork in a threaded process (a Dask worker) can deadlock: a fresh interpreter
            pid = subprocess.Popen(
                [sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=(lambda: _set_limits(*limits)) if limits else None).pid
    killed = False
    try:
        deadline = time.monotonic() + job.limits.timeout
        while not (status := os.waitpid(pid, os.WNOHANG))[0]:
            if time.monotonic() >= deadline:
                _kill_group(pid)
                status, killed = os.waitpid(pid, 0), True
                break
            time.sleep(0.05)
    except BaseException:  # Ctrl-C in the worker: leave no nbgrader or kernel behind
        _kill_group(pid)
        os.waitpid(pid, 0)
        _kill_kernels(_events(progress))
        raise
    text = log_path.read_bytes().decode("utf-8", "replace")
    return os.waitstatus_to_exitcode(status[1]), text, killed


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:  # not yet its own session leader
        os.kill(pid, signal.SIGKILL)


def _fork_nbgrader(course: Path, env: dict, args: list[str], limits, log_fd: int) -> int:
    """Run nbgrader in a forked child of this worker, which has imported nbgrader once:
    importing it costs seconds of CPU, which a fresh interpreter per submission would pay
    every time. The child is still one process per submission, in its own session."""
    from nbgrader.apps.nbgraderapp import NbGraderApp  # imported here, once per worker

    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.chdir(course)
        os.environ.clear()
        os.environ.update(env)
        if limits:
            _set_limits(*limits)
        NbGraderApp.launch_instance(args)
        code = 0
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _set_limits(memory_bytes: int | None, cpu_seconds: int | None) -> None:
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    if cpu_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))


def _scores(course: Path, job: Job) -> dict[str, float]:
    """Auto scores of the graded cells, from the scratch gradebook (which the kernel cannot
    write when sandboxed)."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(job.assignment, job.student)
        return {g.name: float(g.auto_score or 0.0) for nb in submission.notebooks
                for g in nb.grades if g.max_score}


def _scan(record: dict, notebook: Path, source: Path) -> None:
    try:
        flags = scan.scan_submission(notebook, source)
    except Exception as error:  # a scanner bug must not cost the student the grade
        record["flags"].append({"code": "scan-failed",
                                "message": f"{type(error).__name__}: {error}"})
        return
    record["flags"] += [{"code": f.code, "message": f.message} for f in flags]


def _verify(record: dict, notebook: Path, job: Job, stopped: frozenset[int]) -> None:
    """Let verification refute parts: a refuted part scores 0, with the verdict as reason.
    The cells nbgrader's run had to stop (``stopped``, by index) are not run there either."""
    try:
        # verify shares its time among the parts (and the definitions): each share is a cell's
        budget = min(job.limits.timeout, job.limits.cell_timeout * (len(record["parts"]) + 1))
        verdicts = verify.verify_submission(
            notebook, job.assignment, timeout=budget, memory_bytes=job.limits.memory_bytes,
            sandboxed=job.limits.sandbox, skip_cells=stopped)
    except Exception as error:
        record["flags"].append({"code": "verify-failed",
                                "message": f"{type(error).__name__}: {error}"})
        return
    record["verified"] = True
    for grade_id, verdict in verdicts.items():
        part = record["parts"].get(grade_id)
        if part is None:
            continue
        part["confirmed"] = bool(verdict.confirmed)
        if not verdict.confirmed:
            if part["score"] > 0:
                record["flags"].append({"code": "verification-mismatch", "message":
                                        f"{grade_id}: nbgrader gave {part['score']:g} points, "
                                        f"verification refuted it"})
            part["score"] = 0.0
            part["verdict"] = verdict.message


# --- the parent -----------------------------------------------------------------------------

def state_dir(course_dir: Path, assignment: str) -> Path:
    return Path(course_dir) / "autograded" / STATE_FOLDER / assignment


def read_records(course_dir: Path, assignment: str) -> dict[str, dict]:
    """The stored result of every graded submission, by student."""
    folder = state_dir(course_dir, assignment)
    records = {}
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            record = json.loads(path.read_text())
        except (json.JSONDecodeError, OSError):
            continue  # written half when the machine stopped: graded again
        records[record["student"]] = record
    return records


def submissions(course_dir: Path, assignment: str) -> dict[str, Path]:
    """student -> their folder under submitted/ for ``assignment``."""
    root = Path(course_dir) / "submitted"
    found = {}
    for student in sorted(root.iterdir()) if root.exists() else []:
        if (student / assignment).is_dir() and not student.name.startswith("."):
            found[student.name] = student / assignment
    return found


def submission_key(folder: Path, source_hash: str) -> str:
    digest = hashlib.sha256(source_hash.encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _source_notebook(course_dir: Path, assignment: str) -> Path:
    if assignment not in assignments(course_dir):
        raise ValueError(f"unknown assignment {assignment!r}; the course has "
                         f"{', '.join(assignments(course_dir))}")
    notebooks = sorted((Path(course_dir) / "source" / assignment).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise ValueError(f"assignment {assignment!r} must have exactly one notebook, "
                         f"found {[p.name for p in notebooks]}")
    return notebooks[0]


CONFIG_ADDITIONS = '''
# --- added by autograder.grade for one submission's scratch course ---
import json as _json
c.Autograde.autograde_preprocessors = [
    "autograder.grade.GuardedExecute", "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
    "autograder.grade.StderrIsNotFailure", "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties", "nbgrader.preprocessors.CheckCellMetadata"]
c.Execute.timeout = {cell_timeout}
# Stop, do not interrupt: a loop can swallow KeyboardInterrupt (GuardedExecute explains).
c.Execute.interrupt_on_timeout = False
c.Execute.startup_timeout = 60
c.GuardedExecute.progress_file = ""
with open("run_config.json") as _run:
    for _section, _values in _json.load(_run).items():
        for _name, _value in _values.items():
            setattr(getattr(c, _section), _name, _value)
'''


def prepare_template(course_dir: Path, assignment: str, destination: Path,
                     limits: Limits, *, fork: bool = False) -> Path:
    """The scratch course every worker copies: the course's config (with the pipeline's
    preprocessors), the assignment's source, and a gradebook that knows the assignment.
    ``fork``: run nbgrader in a fork of this process (a worker that imported it already)."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copytree(Path(course_dir) / "source" / assignment,
                    destination / "source" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    config = (Path(course_dir) / "nbgrader_config.py").read_text()
    (destination / "nbgrader_config.py").write_text(
        config + CONFIG_ADDITIONS.format(cell_timeout=int(max(1, limits.cell_timeout))))
    (destination / "run_config.json").write_text("{}")
    if fork:
        log_path = destination / "generate.log"
        with open(log_path, "wb") as log:
            env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                         f"{os.environ.get('PATH', '')}"}
            pid = _fork_nbgrader(destination, env, ["generate_assignment", assignment, "--force"],
                                 None, log.fileno())
        if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]):
            raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n"
                               + log_path.read_text(errors="replace")[-LOG_TAIL:])
    else:
        run_nbgrader(destination, "generate_assignment", assignment, "--force", timeout=600)
    shutil.rmtree(destination / "release", ignore_errors=True)
    return destination


def _gradebook(db_url: str):
    """nbgrader's Gradebook on ``db_url``. nbgrader runs ``alembic`` by name to set up a new
    database other than SQLite, so this interpreter's environment must be on the PATH."""
    from nbgrader.api import Gradebook

    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"
    return Gradebook(db_url)


def _ensure_assignment_in_gradebook(course_dir: Path, assignment: str, db_url: str,
                                    template: Path) -> None:
    """Make the course's gradebook know the assignment's notebooks and cells (what
    ``generate_assignment`` records), without writing the course's release/ folder: a new
    SQLite gradebook is the template's, an existing one gets ``generate_assignment``."""
    from nbgrader.api import MissingEntry

    course_db = Path(course_dir) / "gradebook.db"
    if db_url == f"sqlite:///{course_db}" and not course_db.exists():
        shutil.copy2(template / "gradebook.db", course_db)
        return
    with _gradebook(db_url) as gradebook:
        try:
            if gradebook.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "course"
        shutil.copytree(Path(course_dir) / "source" / assignment, copy / "source" / assignment)
        shutil.copy2(Path(course_dir) / "nbgrader_config.py", copy / "nbgrader_config.py")
        run_nbgrader(copy, "generate_assignment", assignment, "--force",
                     f"--CourseDirectory.db_url={db_url}", timeout=600)


def write_gradebook(gradebook, record: dict) -> None:
    """Record one submission's final scores in the gradebook (an open nbgrader Gradebook:
    the parent, the only writer, keeps one open for the whole run)."""
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        # nbgrader's own autoflush warning when it creates a submission; harmless
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(record["student"])
        submission = gradebook.update_or_create_submission(record["assignment"],
                                                           record["student"])
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                part = record["parts"].get(grade.name)
                if part is not None:
                    grade.auto_score = part["score"]
                    grade.needs_manual_grade = False
        gradebook.db.commit()


def _write_record(course_dir: Path, record: dict) -> None:
    folder = state_dir(course_dir, record["assignment"])
    folder.mkdir(parents=True, exist_ok=True)
    staged = folder / f".{record['student']}.json.part"
    staged.write_text(json.dumps(record, indent=1, sort_keys=True))
    staged.replace(folder / f"{record['student']}.json")


@dataclass
class Summary:
    graded: list[dict]              # the records written by this run
    skipped: list[str]              # students whose current record was kept
    seconds: float

    def counts(self) -> Counter:
        return Counter(r["status"].split(";")[0] for r in self.graded)

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts().items())) or "none"
        flagged = sum("flagged" in r["status"] for r in self.graded)
        rate = len(self.graded) / self.seconds * 60 if self.seconds and self.graded else 0
        return (f"graded {len(self.graded)} submission(s) in {self.seconds:.1f} s "
                f"({rate:.1f} per minute): {counts}; {flagged} flagged for review; "
                f"{len(self.skipped)} already graded (kept; --regrade grades them again)")


def grade(assignment: str, course_dir: Path = COURSE_DIR, *, students: list[str] | None = None,
          workers: int | None = None, limits: Limits = Limits(), regrade: bool = False,
          progress: bool | None = None, db_url: str | None = None,
          scheduler: str | None = None) -> Summary:
    """Grade the submissions of ``assignment`` found under ``course_dir/submitted`` (only
    ``students`` when given) that have no current record, or all with ``regrade``."""
    started = time.monotonic()
    course_dir = Path(course_dir).resolve()
    source = _source_notebook(course_dir, assignment)
    if limits.sandbox:
        if not sandbox.available():
            raise ValueError("the sandbox was required, but bubblewrap does not work here "
                             "(apt-get install bubblewrap; unprivileged user namespaces)")
    db_url = db_url or f"sqlite:///{course_dir / 'gradebook.db'}"
    found = submissions(course_dir, assignment)
    if students is not None:
        missing = sorted(set(students) - set(found))
        if missing:
            raise ValueError(f"no submission of {assignment} for: {', '.join(missing)}")
        found = {s: found[s] for s in students}
    source_hash = hashlib.sha256(source.read_bytes()
                                 + (course_dir / "nbgrader_config.py").read_bytes()).hexdigest()
    records = read_records(course_dir, assignment)
    keys = {s: submission_key(folder, source_hash) for s, folder in found.items()}
    # an error is the grader's failure, not the submission's: always tried again
    todo = [s for s in found if regrade or records.get(s, {}).get("key") != keys[s]
            or records[s]["status"].startswith(ERROR)]
    skipped = [s for s in found if s not in todo]
    done: list[dict] = []
    if not todo:
        return Summary(done, skipped, time.monotonic() - started)

    with tempfile.TemporaryDirectory(prefix="grade-template-") as template_dir, \
            (_DaskWorkers(scheduler) if scheduler else _LocalWorkers(workers, len(todo))) as pool:
        template = pool.prepare_template(course_dir, assignment, Path(template_dir) / "course",
                                         limits)
        _ensure_assignment_in_gradebook(course_dir, assignment, db_url, template)
        jobs = [Job(str(course_dir), assignment, s, source.name, str(template), keys[s], limits)
                for s in todo]
        show = sys.stderr.isatty() if progress is None else progress
        from tqdm import tqdm

        with tqdm(total=len(jobs), unit="submission", disable=not show, desc=assignment) as bar, \
                _gradebook(db_url) as gradebook:
            for record in pool.grade(jobs):
                write_gradebook(gradebook, record)
                _write_record(course_dir, record)
                done.append(record)
                bar.set_postfix_str(f"{record['student']}: {record['status']}", refresh=False)
                bar.update()
    return Summary(done, skipped, time.monotonic() - started)


_interrupted = False  # in a local worker: Ctrl-C came, grade nothing more


def _on_interrupt(signum, frame):
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


_zygote: Zygote | None = None  # in a local worker: forks the sandboxed kernels
_one_at_a_time = False  # a local worker grades one submission at a time (a zygote's reset
# kills every kernel it forked)


def _worker_zygote(job: Job) -> Zygote | None:
    """This worker's zygote for ``job``'s kernels, reset; None where there is none (no
    sandbox, or a worker that grades several submissions at once)."""
    global _zygote
    if not _one_at_a_time or job.limits.sandbox is False or not sandbox.available():
        return None
    settings = dict(hidden=_kernel_hidden(job), memory_bytes=job.limits.memory_bytes,
                    cpu_seconds=job.limits.cpu_seconds)
    if _zygote is not None and not _zygote.matches(**settings):
        _zygote.close()
        _zygote = None
    if _zygote is None:
        _zygote = Zygote(**settings)
        Finalize(_zygote, _zygote.close, exitpriority=10)
    else:
        _zygote.reset()
    return _zygote


def _warm_up() -> None:
    """A local worker's first act: import what grading a submission needs (seconds of CPU),
    while the parent is still preparing the run; and, after a Ctrl-C, refuse the
    submissions the pool had already queued for it (the parent no longer waits for them)."""
    global _one_at_a_time
    _one_at_a_time = True
    signal.signal(signal.SIGINT, _on_interrupt)
    from nbgrader.apps.nbgraderapp import NbGraderApp  # noqa: F401
    from nbgrader.api import Gradebook  # noqa: F401


def _failed(job: Job, error: Exception) -> dict:
    return _error_record(job, f"the grader's worker failed: {type(error).__name__}: {error}",
                         time.monotonic())


class _LocalWorkers:
    """A pool of worker processes on this machine (``workers``, default one per core). They
    start, and import nbgrader, as the pool opens; one of them prepares the template, by a
    fork of itself, while the others are still importing."""

    def __init__(self, workers: int | None, jobs: int):
        self.size = max(1, min(workers or os.cpu_count() or 1, jobs))

    def __enter__(self):
        # spawn: a fresh interpreter per worker, not a fork of a parent that runs threads (tqdm)
        self.pool = ProcessPoolExecutor(self.size, mp_context=get_context("spawn"),
                                        initializer=_warm_up)
        return self

    def __exit__(self, *failure):
        self.pool.shutdown(wait=True, cancel_futures=True)

    def prepare_template(self, *args) -> Path:
        # a process is started for each task submitted while none is idle, up to the size
        started = [self.pool.submit(int) for _ in range(self.size - 1)]
        template = self.pool.submit(prepare_template, *args, fork=True).result()
        for future in started:
            future.result()
        return template

    def grade(self, jobs: list[Job]):
        """Yield each job's record as it completes."""
        futures = {self.pool.submit(grade_submission, job): job for job in jobs}
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as error:  # the worker process itself died
                    yield _failed(futures[future], error)
        finally:
            for future in futures:
                future.cancel()


class _DaskWorkers:
    """The workers of a Dask distributed cluster (which must share the course's filesystem);
    the template is prepared here."""

    def __init__(self, scheduler: str):
        self.scheduler = scheduler

    def __enter__(self):
        from distributed import Client

        self.client = Client(self.scheduler)
        return self

    def __exit__(self, *failure):
        self.client.close()

    def prepare_template(self, *args) -> Path:
        return prepare_template(*args)

    def grade(self, jobs: list[Job]):
        from distributed import as_completed as dask_completed

        futures = self.client.map(grade_submission, jobs, pure=False)
        job_of = {future.key: job for future, job in zip(futures, jobs)}
        try:
            for future in dask_completed(futures):
                try:
                    yield future.result()
                except Exception as error:  # a worker lost, or the cluster
                    yield _failed(job_of[future.key], error)
        finally:
            self.client.cancel(futures)


# --- command line ---------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("assignment", help="e.g. 02-activations")
    parser.add_argument("--course", type=Path, default=COURSE_DIR, help="nbgrader's course folder")
    parser.add_argument("--student", action="append", dest="students", metavar="ID",
                        help="grade only this student (repeatable)")
    parser.add_argument("--workers", type=int, help="parallel submissions (default: CPU cores)")
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout,
                        help="seconds a cell may run (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=Limits.timeout,
                        help="seconds one submission's run may take (default: %(default)s)")
    parser.add_argument("--memory", type=int, default=Limits.memory_bytes // 2**20,
                        help="memory cap of a kernel, in MiB (default: %(default)s)")
    sandboxing = parser.add_mutually_exclusive_group()
    sandboxing.add_argument("--sandbox", dest="sandbox", action="store_const", const=True,
                            help="require the bubblewrap sandbox (fail where it does not work)")
    sandboxing.add_argument("--no-sandbox", dest="sandbox", action="store_const", const=False,
                            help="run kernels without the sandbox (limits still apply)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the verification outside the kernel")
    parser.add_argument("--regrade", action="store_true",
                        help="grade again submissions that already have a result")
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                        help="no progress bar (the default when not on a terminal)")
    parser.add_argument("--db", dest="db_url", help="gradebook URL (default: the course's "
                        "gradebook.db), e.g. postgresql://user@host/course")
    parser.add_argument("--scheduler", help="address of a Dask distributed scheduler to run "
                        "the workers on (default: local processes)")


def run(args: argparse.Namespace) -> int:
    """Grade as ``args`` say and print the summary; 0 when every submission was graded, 1
    when some ended ungradable, timed out, crashed, errored or flagged, 2 on a bad argument."""
    if args.workers is not None and args.workers < 1:
        print("grade: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.cell_timeout <= 0 or args.timeout <= 0 or args.memory <= 0:
        print("grade: --cell-timeout, --timeout and --memory must be positive", file=sys.stderr)
        return 2
    limits = Limits(cell_timeout=args.cell_timeout, timeout=args.timeout,
                    memory_bytes=args.memory * 2**20, sandbox=args.sandbox, verify=args.verify)
    try:
        summary = grade(args.assignment, args.course, students=args.students,
                        workers=args.workers, limits=limits, regrade=args.regrade,
                        progress=args.progress, db_url=args.db_url, scheduler=args.scheduler)
    except ValueError as error:
        print(f"grade: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grade: interrupted; the submissions graded so far are kept, run again to "
              "grade the rest", file=sys.stderr)
        return 130
    print(summary)
    for record in summary.graded:
        if record["status"] != GRADED:
            print(f"  {record['student']}: {record['status']}: {record['reason']}")
    return 0 if all(r["status"] == GRADED for r in summary.graded) else 1
