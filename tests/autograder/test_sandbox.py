"""autograder.sandbox: limits, the bubblewrap sandbox, and sandboxed kernels under nbgrader.

The end-to-end test grades a real 02-activations submission with ``nbgrader autograde`` and
the kernels of ``kernel_setup``: its student code tries to read the gradebook, the source
notebooks, the verification specs, nbgrader's configuration and the git history, connects to
the host's loopback and to an outside address, allocates 10 GB and reads the grader's
environment; every attempt fails, and the honest parts still get full marks. Another
submission spins forever and is killed at the CPU limit, long before nbgrader's cell timeout.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from autograder import sandbox
from autograder.course import COURSE_DIR, copy_course, run_nbgrader
from autograder.zygote import Zygote
from tests.assignments import harness

ASSIGNMENT = "02-activations"
REPO = COURSE_DIR.parent
needs_bwrap = pytest.mark.skipif(not sandbox.available(),
                                 reason=f"no sandbox here: {sandbox.why_unavailable()}")


def run_python(code: str, prefix: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout)


def test_memory_limit_makes_a_10_gb_allocation_fail():
    result = run_python("import numpy as np\ntry:\n    np.ones(10 * 2**30 // 8)\n"
                        "except MemoryError:\n    print('MemoryError')",
                        sandbox.limits_prefix(memory_bytes=2 * 2**30, cpu_seconds=None))
    assert result.stdout.strip() == "MemoryError", result.stderr


def test_cpu_limit_stops_a_spinning_process_even_if_it_ignores_sigxcpu():
    start = time.monotonic()
    result = run_python("import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass",
                        sandbox.limits_prefix(memory_bytes=None, cpu_seconds=1))
    assert result.returncode == -signal.SIGKILL
    assert time.monotonic() - start < 20


@needs_bwrap
def test_python_runs_from_its_own_installation_with_a_cleared_environment(monkeypatch):
    """Hiding the home folder must not hide the interpreter's standard library (a pyenv
    Python lives there), nor fall back to another one."""
    import json as host_json

    monkeypatch.setenv("FDL_GRADER_SECRET", "hunter2")
    code = "import json, os; print(json.__file__, os.environ.get('FDL_GRADER_SECRET'), os.environ['HOME'])"
    result = subprocess.run(sandbox.wrap([sys.executable, "-c", code], writable=[], hidden=[]),
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == [host_json.__file__, "None", sandbox.SANDBOX_HOME], result.stderr


def test_wrap_refuses_to_pretend(monkeypatch):
    monkeypatch.setattr(sandbox, "why_unavailable", lambda: "bwrap is not installed")
    with pytest.raises(sandbox.SandboxUnavailable, match="bwrap is not installed"):
        sandbox.wrap(["true"], writable=[], hidden=[])


PROBE = r'''
import errno, json, os, socket, sys, time
report = {}

def attempt(name, action):
    try:
        report[name] = ["ok", action()]
    except BaseException as error:
        report[name] = [type(error).__name__, str(error)[:120]]

def connect(address):
    s = socket.socket()
    s.settimeout(5)
    start = time.monotonic()
    code = s.connect_ex(address)
    return [errno.errorcode.get(code, code), round(time.monotonic() - start, 2)]

for name, path in PATHS.items():
    attempt(name, lambda: os.listdir(path) if os.path.isdir(path) else len(open(path, "rb").read()))
attempt("write_repository", lambda: open(REPO + "/planted.txt", "w").write("x"))
attempt("write_cwd", lambda: open("planted.txt", "w").write("x"))
attempt("host_loopback", lambda: connect(("127.0.0.1", PORT)))
attempt("outside", lambda: connect(("192.0.2.1", 80)))
attempt("allocate_10_gb", lambda: len(bytearray(10 * 2**30)))
attempt("secret_environment", lambda: os.environ["FDL_GRADER_SECRET"])
attempt("course_lib", lambda: __import__("course_lib.testing").__name__)
attempt("signal_grader", lambda: os.kill(GRADER_PID, 0))
print("SANDBOX-REPORT " + json.dumps(report))
'''


def _probe(course: Path, port: int) -> str:
    paths = {"gradebook": course / "gradebook.db", "source": course / "source",
             "config": course / "nbgrader_config.py", "checks": REPO / "autograder" / "checks",
             "repository_course": COURSE_DIR / "source", "git": REPO / ".git" / "HEAD"}
    constants = (f"PATHS = {json.dumps({k: str(v) for k, v in paths.items()})}\n"
                 f"REPO = {str(REPO)!r}\nPORT = {port}\nGRADER_PID = {os.getpid()}\n")
    return constants + PROBE


@pytest.fixture(scope="module", params=["bwrap per kernel", "zygote"])
def graded(tmp_path_factory, request):
    """One autograde with sandboxed kernels: a probing submission and a spinning one; the
    kernels are started by bwrap each, or forked by a zygote in its sandbox."""
    if not sandbox.available():
        pytest.skip(f"no sandbox here: {sandbox.why_unavailable()}")
    root = tmp_path_factory.mktemp("sandbox")
    course = copy_course(root / "course")
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    solution = harness.solution_code(
        nbformat.read(harness.notebook_path(course, "source", ASSIGNMENT), as_version=4))
    listener = socket.create_server(("127.0.0.1", 0))
    harness.submit(course, ASSIGNMENT, "prober",
                   {**solution, "sigmoid": solution["sigmoid"] + "\n" + _probe(course, listener.getsockname()[1])})
    harness.submit(course, ASSIGNMENT, "spinner", {**solution, "relu": "while True:\n    pass\n"})
    with _kernels(request.param, root / "scratch", hidden=[course], memory_bytes=2 * 2**30,
                  cpu_seconds=8, course=course) as (env, args, _):
        result = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, *args],
                                cwd=course, capture_output=True, text=True, timeout=600,
                                env={**os.environ, **env, "FDL_GRADER_SECRET": "hunter2",
                                     "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    listener.close()
    return course, result


@contextmanager
def _kernels(launch: str, scratch: Path, *, hidden: list[Path], memory_bytes: int,
             cpu_seconds: int, course: Path | None = None):
    """(environment, nbgrader arguments, a folder kernels may run in) for sandboxed kernels
    that ``launch`` says how to start: bwrap per kernel, or a zygote (then ``course``'s
    autograded folder lies in what the zygote shares)."""
    if launch == "bwrap per kernel":
        scratch.mkdir(parents=True)
        with sandbox.socket_folder() as sockets:
            yield (*sandbox.kernel_setup(scratch, hidden=hidden, memory_bytes=memory_bytes,
                                         cpu_seconds=cpu_seconds, sockets=sockets), scratch.parent)
        return
    zygote = Zygote(hidden=hidden, memory_bytes=memory_bytes, cpu_seconds=cpu_seconds)
    try:
        if course is not None:
            (zygote.shared / "autograded").mkdir()
            (course / "autograded").symlink_to(zygote.shared / "autograded")
        yield (*sandbox.kernel_setup(zygote.root / "scratch", hidden=hidden,
                                     memory_bytes=memory_bytes, cpu_seconds=cpu_seconds,
                                     sockets=zygote.sockets, zygote=zygote.control),
               zygote.shared)
    finally:
        if course is not None:  # keep what was graded, for the tests to read
            shutil.copytree(zygote.shared / "autograded", course / "graded")
            (course / "autograded").unlink()
            (course / "graded").rename(course / "autograded")
        zygote.close()


def start_kernel(env: dict, args: list[str], cwd: Path, monkeypatch):
    """A kernel manager and a ready client for the kernelspec ``kernel_setup`` made."""
    from jupyter_client import KernelManager
    from traitlets.config import Config

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = Config()
    for arg in args:
        key, value = arg[2:].split("=", 1)
        section, trait = key.split(".")
        config[section][trait] = value
    manager = KernelManager(kernel_name=sandbox.KERNEL_NAME, config=config)
    manager.start_kernel(cwd=str(cwd))
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return manager, client


def _report(course: Path) -> dict:
    notebook = json.loads((course / "autograded" / "prober" / ASSIGNMENT / "activations.ipynb").read_text())
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            if "SANDBOX-REPORT " in text:
                return json.loads(text.split("SANDBOX-REPORT ", 1)[1])
    raise AssertionError("the probe printed no report")


@needs_bwrap
def test_sandboxed_kernel_reads_no_grading_material_and_reaches_no_network(graded):
    course, _ = graded
    report = _report(course)
    for name in ("gradebook", "source", "config", "checks", "repository_course", "git"):
        assert report[name] in (["ok", []], ["ok", 0]) or report[name][0] == "FileNotFoundError", \
            f"{name}: {report[name]}"
    assert report["write_repository"][0] == "OSError" and "Read-only" in report["write_repository"][1]
    assert report["write_cwd"] == ["ok", 1]
    # The host has a server on that port: refused means another network namespace.
    code, seconds = report["host_loopback"][1]
    assert code == "ECONNREFUSED" and seconds < 1
    code, seconds = report["outside"][1]
    assert code in ("ENETUNREACH", "EHOSTUNREACH") and seconds < 1
    assert report["allocate_10_gb"][0] == "MemoryError"
    assert report["secret_environment"][0] == "KeyError"
    assert report["course_lib"] == ["ok", "course_lib"]
    assert report["signal_grader"][0] == "ProcessLookupError"
    assert not (REPO / "planted.txt").exists()


@needs_bwrap
def test_sandboxed_kernel_grades_the_honest_parts(graded):
    course, _ = graded
    assert harness.scores(course, ASSIGNMENT)["prober"] == {
        "test_sigmoid": 3.0, "test_sigmoid_derivative": 2.0, "test_relu": 2.0,
        "test_leaky_relu": 2.0, "test_elu": 2.0, "test_softplus": 2.0, "test_softmax": 3.0}


@needs_bwrap
def test_spinning_kernel_dies_at_the_cpu_limit(graded):
    course, result = graded
    log = result.stdout + result.stderr
    # Killed by the 8 s CPU limit (the kernel dies), not by nbgrader's 120 s cell timeout.
    assert "Kernel died" in log or "DeadKernel" in log
    assert "Timeout waiting" not in log and "CellTimeoutError" not in log
    assert not (course / "autograded" / "spinner" / ASSIGNMENT).exists()


@needs_bwrap
def test_kernel_dies_with_the_grader(tmp_path):
    """Killing the launcher (what nbgrader's kernel manager does) kills the sandboxed process."""
    marker = f"{time.time_ns() % 10**6}.5"
    process = subprocess.Popen(sandbox.wrap(["sleep", marker], writable=[], hidden=[],
                                            memory_bytes=None, cpu_seconds=None))
    time.sleep(0.5)
    process.kill()
    process.wait()
    time.sleep(0.5)
    survivors = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p) == ["sleep", marker]]
    assert not survivors


def _cmdline(process: Path) -> list[str]:
    try:
        return (process / "cmdline").read_bytes().decode().split("\0")[:-1]
    except OSError:
        return []


def test_kernelspec_without_bwrap_has_limits_and_claims_no_isolation(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "available", lambda: False)
    with sandbox.socket_folder() as sockets:
        env, args = sandbox.kernel_setup(tmp_path, hidden=[], memory_bytes=2**30, cpu_seconds=30,
                                         sockets=sockets)
    spec = json.loads((Path(env["JUPYTER_PATH"]) / "kernels" / sandbox.KERNEL_NAME / "kernel.json").read_text())
    assert Path(spec["argv"][0]).name == "prlimit" and "--as=1073741824" in spec["argv"]
    assert not any("bwrap" in part for part in spec["argv"])
    assert "not isolated" in spec["display_name"]
    assert f"--ExecutePreprocessor.kernel_name={sandbox.KERNEL_NAME}" in args


@needs_bwrap
@pytest.mark.parametrize("launch", ["bwrap per kernel", "zygote"])
def test_sandboxed_kernel_can_be_interrupted_and_shut_down(tmp_path, monkeypatch, launch):
    """What nbgrader's cell timeout does: interrupt a spinning cell (through the kernel's
    control channel, since a signal to bwrap would not reach it), then run the next cell."""
    with _kernels(launch, tmp_path / "scratch", hidden=[], memory_bytes=2 * 2**30,
                  cpu_seconds=60) as (env, args, work):
        (work / "notebook folder").mkdir()
        manager, client = start_kernel(env, args, work / "notebook folder", monkeypatch)
        _interrupt_and_shut_down(manager, client)


def _interrupt_and_shut_down(manager, client) -> None:
    try:
        spinning = client.execute("while True:\n    pass")
        time.sleep(1)
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != spinning:
            reply = client.get_shell_msg(timeout=30)
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        # A request that arrives while the kernel still discards what was queued behind the
        # interrupted cell is answered "aborted" (on a busy machine, this one can be): again.
        for _ in range(10):
            status = client.execute_interactive("x = 1 + 1", timeout=30)["content"]["status"]
            if status != "aborted":
                break
            time.sleep(0.5)
        assert status == "ok"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert not manager.is_alive()
