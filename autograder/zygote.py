"""Warm sandboxed kernels: one zygote per local worker forks every kernel the worker needs.

A kernel started from nothing spends about 1.3 s of CPU importing IPython, ipykernel (and its
debugger), numpy and matplotlib before it runs the first cell; the notebook itself then takes
a fraction of that. Plain nbgrader pays it for every submission. A worker here instead starts
one process in the sandbox (``zygote_child.py``) that imports those once, and forks a kernel
from it for each request: about 0.1 s.

Isolation is that of ``autograder.sandbox`` (what the kernel sees of the machine is the same),
with one sandbox shared by the kernels of one worker, one after the other. What keeps one
submission from reaching the next:

- every request resets the namespace first: every other process in it is killed (the
  zygote's PID namespace holds nothing else; a kernel's leftover daemons go), and the
  sandbox's private folders are emptied (a file a kernel left in /tmp, such as an IPython
  startup script, would otherwise run in the next kernel); the worker resets it again when a
  submission is done, and empties the bound folder;
- where control groups can be made (``sandbox.Cgroup``), the zygote and its kernels are
  limited together to ``PROCESSES`` processes and threads, and to one kernel's memory cap
  plus ``ZYGOTE_BYTES``: a fork bomb, or a memory bomb spread over processes, stops there;
- kernels cannot talk to the zygote: its control socket's path is hidden from the sandbox,
  and the forked kernel closes the socket; the zygote is not dumpable (no tracing, no
  reading its memory); a kernel that kills it kills its whole namespace, itself included, and
  the worker starts another zygote.

Only the files a kernel must reach are bound into the sandbox, writable: ``Zygote.shared``,
where the kernel runs (the submission's autograded folder), and ``Zygote.sockets``. Everything
else of a submission's scratch (its gradebook, source/) lives under ``Zygote.root``, and the
zygote's control socket beside ``sockets``: the sandbox hides both.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder import sandbox

CHILD = Path(__file__).with_name("zygote_child.py")
RESET_SECONDS = 20
# What the zygote and the kernels it forks may use together, where control groups can be
# made: processes and threads (a kernel runs about ten threads), and memory beyond one
# kernel's cap (the zygote's own, about 200 MB).
PROCESSES = 256
ZYGOTE_BYTES = 512 * 2**20


class ZygoteFailed(RuntimeError):
    """The zygote did not answer, or could not reset its namespace."""


class Zygote:
    """A zygote in its own sandbox, hiding ``hidden`` (and everything of the worker's scratch
    but ``shared``), with the kernels' memory and CPU limits."""

    def __init__(self, *, hidden: list[Path], memory_bytes: int | None, cpu_seconds: int | None):
        self.hidden, self.memory_bytes, self.cpu_seconds = list(hidden), memory_bytes, cpu_seconds
        self.root = Path(tempfile.mkdtemp(prefix="fdl-zygote-")).resolve()
        self.shared = self.root / "k"
        # Unix socket paths are limited to 107 bytes, which a deep TMPDIR would exceed.
        self._short = sandbox.socket_folder()
        self.short = Path(self._short.name).resolve()
        self.sockets = self.short / "s"
        self.control = self.short / "control"
        self.process: subprocess.Popen | None = None
        self.cgroup = sandbox.Cgroup.create(
            processes=PROCESSES, memory_bytes=memory_bytes + ZYGOTE_BYTES if memory_bytes else None)
        self._start()

    def _start(self) -> None:
        self.shared.mkdir(exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        self.control.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.control))
        listener.listen(16)
        argv = [sys.executable, "-c", CHILD.read_text(), str(listener.fileno()),
                os.readlink("/proc/self/ns/pid")]
        argv = sandbox.wrap(argv, writable=[self.shared, self.sockets],
                            hidden=[*self.hidden, self.root, self.short],
                            memory_bytes=self.memory_bytes, cpu_seconds=self.cpu_seconds,
                            cwd=Path("/"), environment={"OPENBLAS_NUM_THREADS": "1"})
        with open(self.root / "zygote.log", "ab") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, pass_fds=[listener.fileno()],
                                            start_new_session=True,
                                            preexec_fn=self.cgroup.enter if self.cgroup else None)
        listener.close()

    def _stop(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.process = None

    def reset(self) -> None:
        """Kill whatever kernels left, empty the bound folder; a zygote that does not answer
        clean is replaced by a new one."""
        try:
            if self.process is None or self.process.poll() is not None:
                raise ZygoteFailed("the zygote is not running")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(RESET_SECONDS)
                connection.connect(str(self.control))
                connection.sendall(b'{"op": "reset"}\n')
                reply = json.loads(connection.makefile("rb").readline() or b"{}")
            if not reply.get("ok"):
                raise ZygoteFailed(reply.get("why") or "no answer")
        except (OSError, ValueError, ZygoteFailed):
            self._stop()
            _empty(self.shared)
            _empty(self.sockets)
            self._start()
            return
        _empty(self.shared)
        _empty(self.sockets)

    def matches(self, hidden: list[Path], memory_bytes: int | None, cpu_seconds: int | None) -> bool:
        return (list(hidden), memory_bytes, cpu_seconds) == \
            (self.hidden, self.memory_bytes, self.cpu_seconds)

    def close(self) -> None:
        self._stop()
        if self.cgroup:
            self.cgroup.close()
        shutil.rmtree(self.root, ignore_errors=True)
        self._short.cleanup()


def _empty(folder: Path) -> None:
    """Remove what ``folder`` holds, whatever permissions a kernel gave it."""
    def writable_again(function, path, _):
        os.chmod(os.path.dirname(path), 0o700)
        function(path)

    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            entry.chmod(0o700)
            shutil.rmtree(entry, onerror=writable_again)
        else:
            entry.unlink(missing_ok=True)
