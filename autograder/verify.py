"""Confirming each graded part outside the student's kernel.

nbgrader runs the hidden tests in the kernel that ran the student's code, so anything the
code did there (rebinding ``np.allclose``, an AST transformer that removes asserts, reading
the tests) can change the verdict. Verification does not depend on that kernel:

1. the parent (this process, trusted: it never imports or executes student code) takes the
   student's code from the submitted notebook as text: the solution cells, whole, and the
   definitions (imports, functions, classes, constants) of cells the student added, in
   notebook order, after the instructor's locked setup cells taken from the source notebook;
2. the assignment's spec (``autograder/checks/<name>_<number>.py``) says which calls to make
   for each graded part; the parent draws their inputs from a seed the child never sees and
   computes what course_lib's reference returns for them;
3. a fresh child process (``verify_child.py``, sandboxed when bubblewrap works: no network,
   no grading material, the reference's own module replaced by an empty file) runs the code
   and the calls, and writes back arrays only (``.npy`` without pickle, and JSON text);
4. the parent compares those arrays with the reference using course_lib.testing's checks
   (which quantity, at which index, expected versus got), checks derivatives against
   centered differences of the reference forward, inputs against their copies where the
   spec forbids modifying them in place, that no warning was emitted, and that the calls the
   spec watches ran no code of the modules it names (the reference, where it cannot be hidden).

A child that crashes, hangs, exhausts its memory or writes garbage refutes the part it was
running (and, if it never got its code defined, every part) with the reason; verification
then goes on with a new child for the remaining parts. Nothing here raises because of what a
submission contains.
"""
from __future__ import annotations

import ast
import builtins
import functools
import importlib
import importlib.util
import inspect
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from course_lib.testing import CheckFailed, check_close, check_derivative, check_no_warnings
from course_lib.testing import substitute  # noqa: F401  (for the specs' probes, as in the child)

from . import sandbox
from .course import COURSE_DIR

CHILD = Path(__file__).with_name("verify_child.py")
# Imported by setup cells for plots verification never draws; loaded only if code uses them.
DEFERRED_IMPORTS = ("matplotlib.pyplot",)
RESULT_BYTES = 64 * 2**20  # what the parent reads back from a child, at most
POLL_SECONDS = 0.005
# Each phase (defining the code, checking one part) gets this long at least, on a busy machine.
MIN_PHASE_SECONDS = 5
MOST_FAILURES = 3
# Centered differences (step 1e-5, float64) agree with an exact gradient to about 1e-8.
NUMERICAL_RTOL, NUMERICAL_ATOL = 1e-5, 1e-7


@dataclass(frozen=True)
class Verdict:
    confirmed: bool
    message: str  # for the student when not confirmed: which quantity, expected vs got


@dataclass(frozen=True)
class Call:
    """One call the child makes and what its results must be: either ``function(*args,
    **kwargs)``, one array, or (with ``probe``) a function of the spec's,
    ``probe(namespace, *args, **kwargs)``, that drives the student's objects (construct an
    optimizer, step it three times, return the weights after each) and returns one array
    per name in ``outputs``. With ``watch`` (module names), the notebook's code must not run
    any function of those modules during the call, as course_lib.testing.check_not_calling
    checks in the hidden tests: the child reports the functions it entered, the parent refutes."""
    name: str                      # the quantity, as messages name it
    function: str                  # what the notebook must define (for a probe, its first need)
    args: tuple[np.ndarray, ...]   # float64 arrays
    kwargs: dict                   # numbers, strings, booleans: what JSON carries
    expected: tuple[np.ndarray, ...]  # the reference's results, computed in the parent
    outputs: tuple[str, ...] = ()  # a probe's results, by name
    probe: str = ""                # the spec's probe function, by name
    needs: tuple[str, ...] = ()    # what a probe takes from the notebook
    numerical: tuple = ()          # per output: centered differences of the reference forward, or None
    derivative_of: Callable | None = None  # reference forward; the result is its derivative at args[0]
    broadcast: bool = False        # a result that broadcasts to the expected shape is accepted
    unchanged: bool = False        # the call must leave its arguments as they were
    watch: tuple[str, ...] = ()    # modules whose code the call must not run
    rtol: float = 1e-7
    atol: float = 1e-12
    hint: str = ""

    def labels(self) -> list[str]:
        return [f"{self.name}: {o}" for o in self.outputs] if self.outputs else [self.name]


def call(function: str, reference: Callable, *args, name: str | None = None,
         derivative_of: Callable | None = None, broadcast: bool = False, unchanged: bool = False,
         watch: tuple[str, ...] = (), rtol: float = 1e-7, atol: float = 1e-12, hint: str = "",
         **kwargs) -> Call:
    """A probe of ``function`` whose result must match ``reference(*args, **kwargs)``; with
    ``derivative_of``, the result must also match centered differences of
    ``derivative_of(x, **kwargs)`` at ``x = args[0]``; with ``unchanged``, the arguments
    must not be modified in place; with ``watch``, the call must not run code of those
    modules (see Call). The default name describes the call:
    ``leaky_relu(x, slope=0.2) for x of shape (4, 3)``.

    A spec asks for what the hidden tests check, no more: a part that nbgrader's tests pass
    honestly must be confirmed (a stricter probe would turn an honest pass into a flagged
    mismatch)."""
    arrays = tuple(np.array(a, dtype=np.float64) for a in args)
    expected = np.asarray(reference(*[a.copy() for a in arrays], **kwargs), dtype=np.float64)
    if name is None:
        settings = "".join(f", {k}={v}" for k, v in kwargs.items())
        name = f"{function}(x{settings}) for x of shape {arrays[0].shape}"
    forward = functools.partial(derivative_of, **kwargs) if derivative_of else None
    return Call(name, function, arrays, dict(kwargs), (expected,), derivative_of=forward,
                broadcast=broadcast, unchanged=unchanged, watch=tuple(watch), rtol=rtol, atol=atol,
                hint=hint)


def probe(function: Callable, reference: dict | None, *args, name: str, outputs: tuple[str, ...],
          needs: tuple[str, ...], numerical: Callable | None = None, unchanged: bool = False,
          broadcast: bool = False, watch: tuple[str, ...] = (), rtol: float = 1e-7,
          atol: float = 1e-12, hint: str = "", expected: tuple | None = None, **kwargs) -> Call:
    """A call of the spec's ``function(namespace, *args, **kwargs)``, whose results (one array
    per name in ``outputs``) must match what it returns with ``reference`` as the namespace
    (the names in ``needs`` mapped to reference implementations), or else ``expected`` (fixed
    targets, such as the statistics a correct random initializer must have; ``reference`` is
    then None). A check the probe makes itself fails by raising an AssertionError, whose
    message the student sees as it is.

    ``function`` runs in the child with the notebook's namespace: it must be a module-level
    function of the spec that uses nothing but ``np``, ``unwatched``, ``substitute``, its
    namespace and its arguments (its source is all the child gets). With ``numerical``, a function of the same
    arguments returning a tuple (one entry per output: centered differences of the reference
    forward, or None), each output must match those as well. With ``watch``, all the probe
    runs is watched but what it calls through ``unwatched(f)``: a reference it substitutes on
    purpose, or a step the hidden tests do not watch (constructing the object, say)."""
    arrays = tuple(np.array(a, dtype=np.float64) for a in args)
    copies = [a.copy() for a in arrays]
    expected = _as_outputs(function(dict(reference), *copies, **kwargs) if expected is None
                           else expected, len(outputs))
    numeric = tuple(None if n is None else np.asarray(n, dtype=np.float64)
                    for n in numerical(*[a.copy() for a in arrays], **kwargs)) if numerical else ()
    return Call(name, needs[0], arrays, dict(kwargs), expected, tuple(outputs), function.__name__,
                tuple(needs), numeric, broadcast=broadcast, unchanged=unchanged, watch=tuple(watch),
                rtol=rtol, atol=atol, hint=hint)


def unwatched(function: Callable) -> Callable:
    """``function``, called by a probe outside the watch. Here (probes run natively in the
    parent, on the reference, and nothing is watched) it is ``function`` itself; the child
    gives probes its own, which pauses the watch while ``function`` runs."""
    return function


def _as_outputs(result, count: int) -> tuple[np.ndarray, ...]:
    results = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(results) != count:
        raise ValueError(f"the probe returned {len(results)} results for {count} outputs")
    return tuple(np.asarray(r, dtype=np.float64) for r in results)


def _probe_sources(spec, parts: dict[str, list[Call]]) -> dict[str, str]:
    names = {c.probe for calls in parts.values() for c in calls if c.probe}
    return {name: inspect.getsource(getattr(spec, name)) for name in sorted(names)}


def _probe_helper_sources(spec) -> str:
    """The module-level functions several probes share (the spec's PROBE_HELPERS), as the
    source text run before each probe in the child."""
    return "\n\n".join(inspect.getsource(getattr(spec, name))
                        for name in getattr(spec, "PROBE_HELPERS", ()))


@dataclass
class _Outcome:
    """What the child reported for one part, or why it reported nothing."""
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    watched: dict[str, list[str]] = field(default_factory=dict)  # call -> watched functions it ran
    failure: str | None = None


# --- the assignment's spec ---------------------------------------------------------------------

def spec_module(assignment: str):
    """autograder.checks.<name>_<number> for assignment folder <number>-<name>, or None."""
    number, _, name = assignment.partition("-")
    module = f"{__package__}.checks.{name.replace('-', '_')}_{number}"
    if not name or importlib.util.find_spec(module) is None:
        return None
    return importlib.import_module(module)


def covered(assignment: str) -> set[str]:
    """The grade_ids of the graded parts the assignment's spec verifies."""
    spec = spec_module(assignment)
    return set(spec.parts(np.random.default_rng(0))) if spec else set()


# --- the student's code, as text ---------------------------------------------------------------

def _cells(path: Path) -> list[dict]:
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = []
    for cell in notebook["cells"]:
        source = cell.get("source", "")
        cells.append({"cell_type": cell.get("cell_type"),
                      "source": "".join(source) if isinstance(source, list) else str(source),
                      "nbgrader": (cell.get("metadata") or {}).get("nbgrader") or {}})
    return cells


def _python(text: str) -> str:
    """IPython syntax (magics, shell escapes) rewritten to calls the child ignores."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(text)


def _definitions(text: str) -> str:
    """The imports, functions, classes and constant assignments of a cell the student added:
    what a solution may build on, without the experiments (plots, prints, loops) around it."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return ""
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef)):
            kept.append(node)
        elif isinstance(node, ast.Assign) and _is_literal(node.value):
            kept.append(node)
    return ast.unparse(ast.Module(kept, [])) if kept else ""


def _is_literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return False


def student_code(submitted: Path, source: Path, setup: tuple[str, ...],
                 skip: frozenset[int] = frozenset()) -> list[dict]:
    """The cells the child runs, in order, as {"name", "source"}: the source notebook's setup
    cells, then the submission's solution cells and its added cells' definitions, but for
    the cells at the indices in ``skip`` (those the grader had to stop: the code they define
    is missing here as it was in nbgrader's run)."""
    instructor = _cells(source)
    given = {c["nbgrader"]["grade_id"]: c for c in instructor if c["nbgrader"].get("grade_id")}
    instructor_text = {c["source"].strip() for c in instructor if not c["nbgrader"].get("solution")}
    cells = [{"name": grade_id, "source": _python(given[grade_id]["source"])} for grade_id in setup]
    for index, cell in enumerate(_cells(submitted)):
        if cell["cell_type"] != "code" or index in skip:
            continue
        meta = cell["nbgrader"]
        if meta.get("solution"):
            cells.append({"name": meta.get("grade_id") or f"cell {index + 1}",
                          "source": _python(cell["source"])})
        elif not meta and cell["source"].strip() not in instructor_text:
            definitions = _definitions(_python(cell["source"]))
            if definitions:
                cells.append({"name": f"cell {index + 1}", "source": definitions})
    return cells


# --- running the child -------------------------------------------------------------------------

def _hidden_references(spec) -> list[Path]:
    """The files of the reference modules (and their compiled caches)."""
    paths = []
    for module in getattr(spec, "REFERENCES", ()):
        origin = Path(importlib.util.find_spec(module).origin)
        paths.append(origin)
        paths += sorted((origin.parent / "__pycache__").glob(f"{origin.stem}.*.pyc"))
    return paths


def _command(work: Path, spec, *, sandboxed: bool, hidden: list[Path], memory_bytes,
             cpu_seconds) -> tuple[list[str], dict]:
    argv = [sys.executable, "-I", str(work / CHILD.name), str(work)]
    if sandboxed:
        return sandbox.wrap(argv, writable=[work], hidden=[*hidden, *_hidden_references(spec)],
                            memory_bytes=memory_bytes, cpu_seconds=cpu_seconds, cwd=work,
                            environment={"MPLBACKEND": "Agg"}), {}
    environment = {name: os.environ[name] for name in sandbox.KEPT_ENVIRONMENT if name in os.environ}
    environment.update(HOME=str(work), MPLBACKEND="Agg")
    return [*sandbox.limits_prefix(memory_bytes=memory_bytes, cpu_seconds=cpu_seconds), *argv], environment


def _death(returncode: int, seconds: float, timed_out: bool, cpu_used: float, cpu_limit: int) -> str:
    if timed_out:
        return f"it did not finish within {seconds:.0f} s (an infinite loop, or far too slow)"
    # bwrap reports a command killed by signal n as the exit status 128 + n.
    number = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else 0
    if number == signal.SIGXCPU or (number == signal.SIGKILL and cpu_used >= cpu_limit - 0.5):
        return f"it used up its {cpu_limit} s of CPU time and was stopped"
    if number:
        name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
        return f"the process was killed by signal {name} (the code killed it, or it crashed)"
    return f"the process exited with code {returncode} (sys.exit or os._exit in the code?)"


def _read_part(work: Path, name: str) -> _Outcome:
    try:
        size = (work / f"{name}.npy").stat().st_size
        if size > RESULT_BYTES or (work / f"{name}.json").stat().st_size > RESULT_BYTES:
            return _Outcome(failure="it returned arrays far larger than its inputs")
        info = json.loads((work / f"{name}.json").read_text())
        with open(work / f"{name}.npy", "rb") as file:
            # The header first: allocate nothing for a shape or type the file does not hold.
            version = np.lib.format.read_magic(file)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) \
                else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(file)
            if dtype != np.float64 or len(shape) != 1 or fortran or shape[0] * 8 > size:
                raise ValueError("not a flat float64 array")
            file.seek(0)
            flat = np.load(file, allow_pickle=False)
        arrays = {}
        for key, (offset, shape) in dict(info["index"]).items():
            size = math.prod(int(n) for n in shape)
            if not 0 <= int(offset) <= int(offset) + size <= flat.size:
                raise ValueError("an array outside the results")
            arrays[str(key)] = flat[int(offset):int(offset) + size].reshape([int(n) for n in shape])
        errors = {str(k): str(v)[:1000] for k, v in dict(info["errors"]).items()}
        found = [(str(c)[:80], str(m)[:1000]) for c, m in list(info["warnings"])[:5]]
        watched = {str(k): [str(f)[:200] for f in list(v)[:5]] for k, v in dict(info["watched"]).items()}
        return _Outcome(arrays, errors, found, watched)
    except Exception as error:  # whatever the child wrote, it decides nothing
        return _Outcome(failure=f"its results could not be read ({type(error).__name__})")


def _run(work: Path, cells: list[dict], parts: dict[str, list[Call]], spec, *, timeout: float,
         sandboxed: bool, hidden: list[Path], memory_bytes) -> dict[str, _Outcome]:
    """Run children until every part has an outcome; each phase (defining the code, one
    part) gets an equal share of ``timeout``, and at least MIN_PHASE_SECONDS."""
    inputs, requests = {}, {}
    for part, calls in parts.items():
        requests[part] = []
        for i, c in enumerate(calls):
            keys = [f"{part}.{i}.{j}" for j in range(len(c.args))]
            inputs.update(zip(keys, c.args))
            requests[part].append({"function": c.function, "args": keys, "kwargs": c.kwargs,
                                   "probe": c.probe, "needs": list(c.needs),
                                   "outputs": len(c.outputs), "watch": list(c.watch)})
    np.savez(work / "inputs.npz", **inputs)
    probes, helpers = _probe_sources(spec, parts), _probe_helper_sources(spec)
    shutil.copyfile(CHILD, work / CHILD.name)
    share = max(timeout / (len(parts) + 1), MIN_PHASE_SECONDS)
    outcomes: dict[str, _Outcome] = {}
    remaining = list(parts)
    while remaining:
        (work / "request.json").write_text(json.dumps({
            "cells": cells, "deferred": DEFERRED_IMPORTS, "probes": probes,
            "probe_helpers": helpers,
            "parts": [{"name": p, "calls": requests[p]} for p in remaining]}))
        for stale in ["started.json", *(f"{p}.json" for p in remaining)]:
            (work / stale).unlink(missing_ok=True)
        argv, environment = _command(work, spec, sandboxed=sandboxed, hidden=hidden,
                                     memory_bytes=memory_bytes, cpu_seconds=math.ceil(timeout))
        with open(work / "output.txt", "wb") as output:
            process = subprocess.Popen(argv, cwd=work, stdin=subprocess.DEVNULL, stdout=output,
                                       stderr=output, env=environment or None, start_new_session=True)
        started, deadline, timed_out = False, time.monotonic() + share, False
        while remaining:
            exited = _exited(process)  # before looking: what it wrote by then is there
            if not started and (work / "started.json").exists():
                started, deadline = True, time.monotonic() + share
            if started and (work / f"{remaining[0]}.json").exists():
                part = remaining.pop(0)
                outcomes[part] = _read_part(work, part)
                deadline = time.monotonic() + share
                continue
            if exited:
                break
            if time.monotonic() > deadline:
                timed_out = True
                break
            time.sleep(POLL_SECONDS)
        cpu_used = _stop(process)
        if not remaining:
            break
        reason = _death(process.returncode, share, timed_out, cpu_used, math.ceil(timeout))
        if not started:
            for part in remaining:
                outcomes[part] = _Outcome(failure=f"the notebook's code could not be run: {reason}")
            break
        outcomes[remaining.pop(0)] = _Outcome(failure=f"while checking this part, {reason}")
    return outcomes


def _exited(process: subprocess.Popen) -> bool:
    """Whether the child has ended, without reaping it (its resource usage is read then)."""
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _stop(process: subprocess.Popen) -> float:
    """Kill the child if it still runs, reap it, and return the CPU seconds it used (with
    everything it started)."""
    if not _exited(process):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


# --- judging, in the parent --------------------------------------------------------------------

def _warning(category: str, message: str) -> warnings.WarningMessage:
    known = getattr(builtins, category, None)
    kind = known if isinstance(known, type) and issubclass(known, Warning) else type(category, (Warning,), {})
    return warnings.WarningMessage(message, kind, "", 0)


def judge(calls: list[Call], outcome: _Outcome, startup_problems: list[str] = ()) -> Verdict:
    """The verdict on one part from what its child returned."""
    if outcome.failure:
        return Verdict(False, f"verification of this part failed: {outcome.failure}")
    failures = []
    for i, c in enumerate(calls):
        if c.watch and outcome.watched.get(str(i)):
            failures.append(f"{c.name}: {c.function} runs {', '.join(outcome.watched[str(i)])}, the "
                            "reference it is meant to replace: write the computation yourself")
            continue
        if str(i) in outcome.errors:
            failures.append(f"{c.name}: {outcome.errors[str(i)]}")
            continue
        try:
            for k, (label, expected) in enumerate(zip(c.labels(), c.expected)):
                got = outcome.arrays.get(f"r{i}" if not c.outputs else f"r{i}.{k}")
                if got is None:
                    raise CheckFailed(f"{label}: no result came back")
                if c.broadcast:
                    try:
                        got = np.broadcast_to(got, expected.shape)
                    except ValueError:
                        pass  # check_close reports the shape
                check_close(label, got, expected, rtol=c.rtol, atol=c.atol, hint=c.hint)
                if c.derivative_of is not None:
                    check_derivative(f"{label} against finite differences", got, c.derivative_of, c.args[0])
                if k < len(c.numerical) and c.numerical[k] is not None:
                    check_close(f"{label} against finite differences of the reference", got,
                                c.numerical[k], rtol=NUMERICAL_RTOL, atol=NUMERICAL_ATOL, hint=c.hint)
            for j, original in enumerate(c.args if c.unchanged else ()):
                what = f"the input x after calling {c.function}" if len(c.args) == 1 and not c.probe \
                    else f"argument {j + 1} after {c.name}"
                check_close(f"{what} (it must not change)",
                            outcome.arrays.get(f"a{i}_{j}"), original,
                            hint="compute a new array instead of assigning into an argument")
        except CheckFailed as failure:
            failures.append(str(failure))
    try:
        functions = ", ".join(dict.fromkeys(c.function for c in calls))
        check_no_warnings(functions, [_warning(*w) for w in outcome.warnings])
    except CheckFailed as failure:
        failures.append(str(failure))
    if not failures:
        return Verdict(True, "confirmed on fresh inputs, outside the notebook's kernel")
    if startup_problems and any("does not define" in f or "NameError" in f for f in failures):
        # first: the cause (an import that failed, say) of the missing names listed after it
        failures.insert(0, "while defining the notebook's code: " + startup_problems[0])
    lines = [f"- {f}" for f in failures[:MOST_FAILURES]]
    if len(failures) > MOST_FAILURES:
        lines.append(f"- ... and {len(failures) - MOST_FAILURES} more failed checks")
    return Verdict(False, "\n".join(lines))


def verify_submission(submitted: Path, assignment: str, *, timeout: float = 60,
                      memory_bytes: int | None = 2 * 2**30, sandboxed: bool | None = None,
                      seed: int | None = None, source: Path | None = None,
                      hidden: list[Path] = (), skip_cells: frozenset[int] = frozenset()
                      ) -> dict[str, Verdict]:
    """grade_id -> Verdict for every graded part the assignment's spec covers.

    ``sandboxed``: None runs the child in the sandbox when bubblewrap works here, True
    requires it (SandboxUnavailable otherwise), False runs it with resource limits only.
    ``seed`` draws the inputs (default: a fresh secret one each time). ``source`` is the
    instructor's notebook (default: the course's source/<assignment>/ notebook); the child
    sees neither its course folder nor ``hidden``, besides what the sandbox always hides.
    ``skip_cells``: indices of the submission's cells not to run (those nbgrader's run had to
    stop, so that verification judges the code nbgrader judged).
    """
    spec = spec_module(assignment)
    if spec is None:
        return {}
    if sandboxed is None:
        sandboxed = sandbox.available()
    elif sandboxed and not sandbox.available():
        raise sandbox.SandboxUnavailable(sandbox.why_unavailable())
    if source is None:
        (source,) = (COURSE_DIR / "source" / assignment).glob("*.ipynb")
    parts = spec.parts(np.random.default_rng(secrets.randbits(128) if seed is None else seed))
    try:
        cells = student_code(Path(submitted), Path(source), tuple(spec.SETUP), frozenset(skip_cells))
    except Exception as error:  # not JSON, not a notebook, not UTF-8: nothing can be checked
        reason = f"the notebook could not be read ({type(error).__name__})"
        return {part: Verdict(False, reason) for part in parts}
    with tempfile.TemporaryDirectory(prefix="verify-") as scratch:
        work = Path(scratch)
        course = Path(source).resolve().parents[2]  # <course>/source/<assignment>/<notebook>
        outcomes = _run(work, cells, parts, spec, timeout=timeout, sandboxed=sandboxed,
                        hidden=[course, *hidden], memory_bytes=memory_bytes)
        try:
            problems = [str(p)[:1000] for p in json.loads((work / "started.json").read_text())[:3]]
        except Exception:
            problems = []
    return {part: judge(calls, outcomes[part], problems) for part, calls in parts.items()}
