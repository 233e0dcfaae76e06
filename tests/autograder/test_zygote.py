"""autograder.zygote: kernels forked from one warm sandboxed process start fresh, and nothing
one kernel leaves (processes, files in the sandbox's private folders, a planted IPython
startup script) reaches the next.

The sandbox itself (hidden grading material, no network, limits) is tested for zygote kernels
by test_sandbox's end-to-end fixture, which runs with both ways of starting kernels.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from autograder import sandbox, zygote_child
from autograder.zygote import PROCESSES, ZYGOTE_BYTES, Zygote
from tests.autograder.test_sandbox import start_kernel

pytestmark = pytest.mark.skipif(not sandbox.available(),
                                reason=f"no sandbox here: {sandbox.why_unavailable()}")

MARKER = f"fdl-zygote-test-{os.getpid()}"

LEAVE_TRACES = f'''
import os, random, subprocess, numpy
startup = os.path.expanduser("~/.ipython/profile_default/startup")
os.makedirs(startup, exist_ok=True)
open(os.path.join(startup, "00-planted.py"), "w").write("PLANTED = True\\n")
for path in ["/tmp/planted", "/var/tmp/planted", "/run/planted", "/dev/shm/planted", "/dev/planted"]:
    open(path, "w").write("left by an earlier kernel")
os.makedirs("/tmp/locked/inner")
os.chmod("/tmp/locked", 0)
# a daemon in a session of its own, which ignores SIGTERM and SIGHUP
subprocess.Popen(["bash", "-c", "trap '' TERM HUP; exec -a {MARKER} sleep 600"],
                 start_new_session=True)
print(json.dumps([numpy.random.rand(), random.random()]))
'''

LOOK_AROUND = f'''
import os, random, socket, numpy
def processes():
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                found.append(open(f"/proc/{{entry}}/cmdline", "rb").read().split(b"\\0")[0].decode())
            except OSError:
                pass
    return found
def reach(path):
    try:
        socket.socket(socket.AF_UNIX).connect(path)
        return "connected"
    except OSError as error:
        return type(error).__name__
print(json.dumps({{
    "planted_startup_ran": "PLANTED" in globals(),
    "files": [p for p in ["/tmp/planted", "/var/tmp/planted", "/run/planted", "/dev/shm/planted",
                          "/dev/planted", "/tmp/locked"] if os.path.lexists(p)],
    "daemon": [c for c in processes() if c == "{MARKER}"],
    "control": reach(CONTROL),
    "draws": [numpy.random.rand(), random.random()],
    "cwd": os.getcwd(),
}}))
'''


def _run(client, code: str) -> dict:
    out = []
    reply = client.execute_interactive("import json\n" + code, timeout=60,
                                       output_hook=lambda m: out.append(m["content"].get("text", "")))
    assert reply["content"]["status"] == "ok", reply["content"]
    return json.loads("".join(out).strip().splitlines()[-1])


@pytest.fixture
def zygote(request):
    zygote = Zygote(hidden=[], memory_bytes=2 * 2**30, cpu_seconds=60)
    request.addfinalizer(zygote.close)
    return zygote


def _kernel(zygote: Zygote, monkeypatch, name: str):
    env, args = sandbox.kernel_setup(zygote.root / f"scratch-{name}", hidden=[],
                                     memory_bytes=zygote.memory_bytes,
                                     cpu_seconds=zygote.cpu_seconds, sockets=zygote.sockets,
                                     zygote=zygote.control)
    folder = zygote.shared / name
    folder.mkdir()
    return start_kernel(env, args, folder, monkeypatch)


def _wait_for_daemon() -> None:
    """Until the daemon a kernel started has become ``MARKER`` (bash execs it a moment later)."""
    deadline = time.monotonic() + 30
    while not _host_daemons():
        assert time.monotonic() < deadline, "the daemon did not start: the test would prove nothing"
        time.sleep(0.05)


def _host_daemons() -> list[str]:
    found = []
    for process in Path("/proc").iterdir():
        try:
            if process.name.isdigit() and (process / "cmdline").read_bytes().split(b"\0")[0] == MARKER.encode():
                found.append(process.name)
        except OSError:
            pass
    return found


def test_the_next_kernel_starts_as_fresh_as_a_new_process(zygote, monkeypatch):
    manager, client = _kernel(zygote, monkeypatch, "first")
    try:
        first_draws = _run(client, LEAVE_TRACES)
        _wait_for_daemon()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    manager, client = _kernel(zygote, monkeypatch, "second")
    try:
        seen = _run(client, f"CONTROL = {str(zygote.control)!r}\n" + LOOK_AROUND)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert not seen["planted_startup_ran"]
    assert seen["files"] == []
    assert seen["daemon"] == [] and _host_daemons() == []
    assert seen["control"] in ("FileNotFoundError", "ConnectionRefusedError")
    assert seen["draws"][0] != first_draws[0] and seen["draws"][1] != first_draws[1]
    assert seen["cwd"] == str(zygote.shared / "second")


def test_reset_ends_what_a_kernel_left_and_empties_the_shared_folder(zygote, monkeypatch):
    manager, client = _kernel(zygote, monkeypatch, "first")
    try:
        _run(client, LEAVE_TRACES)
        _wait_for_daemon()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert _host_daemons(), "the daemon should outlive its kernel"
    zygote.reset()
    assert _host_daemons() == []
    assert list(zygote.shared.iterdir()) == [] and list(zygote.sockets.iterdir()) == []
    assert zygote.process.poll() is None, "a clean reset keeps the zygote"


def test_a_kernel_that_kills_the_zygote_dies_with_it_and_a_new_zygote_takes_over(zygote, monkeypatch):
    manager, client = _kernel(zygote, monkeypatch, "first")
    try:
        client.execute("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)")
        deadline = time.monotonic() + 30
        while manager.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not manager.is_alive()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    old = zygote.process.pid
    zygote.reset()
    assert zygote.process.pid != old
    manager, client = _kernel(zygote, monkeypatch, "second")
    try:
        assert _run(client, "print(json.dumps(1 + 1))") == 2
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_zygote_runs_only_in_a_pid_namespace_of_its_own():
    """It kills every other process of its namespace: never on the host's."""
    assert not zygote_child._own_namespace(os.readlink("/proc/self/ns/pid"))


FORK_BOMB = '''
import errno, subprocess
for folder in FOLDERS:  # its own limits: read-only to it
    try:
        open(folder + "/cgroup.procs", "w").write("1")
        raise SystemExit("the kernel could leave its control group")
    except OSError:
        pass
started, failure = [], None
for _ in range(1000):
    try:
        started.append(subprocess.Popen(["sleep", "60"]))
    except OSError as error:
        failure = errno.errorcode.get(error.errno, str(error))
        break
print(json.dumps([len(started), failure]))
'''

SPREAD_MEMORY = '''
import os, time
children = []
for _ in range(5):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(700 * 2**20)
            for i in range(0, len(block), 4096):  # touch every page: resident, not reserved
                block[i] = 1
            time.sleep(3)
        finally:
            os._exit(0)
    children.append(pid)
statuses = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
print(json.dumps(statuses))
'''


def _needs_cgroup(zygote: Zygote) -> None:
    if zygote.cgroup is None:
        pytest.skip("no control groups can be made here (they need root, or a delegated subtree)")


def test_a_fork_bomb_stops_at_the_process_limit(zygote, monkeypatch):
    _needs_cgroup(zygote)
    manager, client = _kernel(zygote, monkeypatch, "first")
    try:
        started, failure = _run(client, f"FOLDERS = {[str(f) for f in zygote.cgroup.folders]!r}\n"
                                        + FORK_BOMB)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert failure == "EAGAIN" and started < PROCESSES, (started, failure)
    zygote.reset()
    manager, client = _kernel(zygote, monkeypatch, "second")  # the processes went with the reset
    try:
        assert _run(client, "print(json.dumps(1 + 1))") == 2
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_memory_spread_over_processes_stops_at_the_group_cap(zygote, monkeypatch):
    """Five processes of 700 MB each, resident: each is under the 2 GB cap per process, and
    together over the group's 2 GB + ZYGOTE_BYTES, so not all of them live."""
    _needs_cgroup(zygote)
    manager, client = _kernel(zygote, monkeypatch, "first")
    try:
        statuses = _run(client, SPREAD_MEMORY)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert 5 * 700 * 2**20 > zygote.memory_bytes + ZYGOTE_BYTES
    assert -9 in statuses, statuses
