"""Running student code where it can read no grading material, reach no network, and use
bounded CPU time and memory.

Student code runs in two places: the kernels nbgrader starts to execute a submission (its
hidden tests run in the same kernel), and the child processes ``verify`` starts to re-run a
student's functions on secret inputs. Both go through bubblewrap (Debian's ``bwrap``):

- the whole filesystem is visible read-only, except the directories given as writable (the
  submission's working folder, a scratch folder);
- grading material is replaced by empty directories or files: the course folder (source
  notebooks with hidden tests, the gradebook, nbgrader's configuration), the autograder
  package (verification specs), the repository's git history (every hidden test ever
  committed), the user's home (configuration, credentials), and the host's /tmp and /run
  (other submissions, database sockets); course_lib and the Python environment stay readable,
  since students import them legitimately;
- a new network namespace with only a loopback interface: connecting to the host's
  127.0.0.1 or to any outside address fails at once, and no packet leaves;
- a new PID namespace (no signalling or inspecting the grader's processes), a new session,
  no capabilities, no further user namespaces, and death with the parent process;
- resource limits from ``prlimit``: address space (a 10 GB allocation fails with
  MemoryError), CPU seconds (SIGXCPU, then SIGKILL a second later for code that ignores it),
  file size, and no core dumps; where the grader may create control groups (``Cgroup``),
  the number of processes and the memory of the kernels of a zygote together.

Kernels talk to nbgrader over ZeroMQ; a kernel in its own network namespace cannot share TCP
ports with nbgrader, so sandboxed kernels use the ``ipc`` transport (Unix sockets in a
private folder). Without TCP ports there is also no port race between concurrent kernels.

Run as a script (``python -I -S sandbox.py kernel SPEC CONNECTION_FILE``), this module is the
launcher a sandboxed kernelspec invokes: it only uses the standard library, and runs outside
the sandbox, in the kernel manager's process, just long enough to exec ``bwrap``.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KERNEL_NAME = "fdl-sandbox"
# Variables a sandboxed process keeps; everything else (database URLs, tokens, the grader's
# configuration paths) is cleared.
KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "OPENBLAS_NUM_THREADS",
                    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "PYTHONHASHSEED")
SANDBOX_HOME = "/tmp"  # the sandbox's own (empty, private) /tmp
PRIVATE_TMP_BYTES = 256 * 2**20
FILE_BYTES = 512 * 2**20
# A kernel's sockets are <folder>/kernel-<8 characters>/kernel-<port number>: the folder may
# take this much of the 107 bytes of a Unix socket path.
SOCKET_FOLDER_CHARACTERS = 107 - len("/kernel-12345678/kernel-65535")
# SIGXCPU at the limit; SIGKILL this much later, for code that catches SIGXCPU.
CPU_GRACE_SECONDS = 1


class SandboxUnavailable(RuntimeError):
    """bubblewrap is not installed, or cannot create namespaces on this machine."""


_PROBE = ["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--unshare-all",
          "--unshare-user", "--disable-userns", "--cap-drop", "ALL", "--die-with-parent",
          "--new-session", "--", "true"]


@functools.cache
def available() -> bool:
    """True when bubblewrap can build the sandbox here (user, PID, network namespaces)."""
    return why_unavailable() is None


@functools.cache
def why_unavailable() -> str | None:
    """Why bubblewrap cannot sandbox here (for messages and skipped tests), or None."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed (Debian package bubblewrap)"
    try:
        result = subprocess.run([bwrap, *_PROBE], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not run: {error}"
    if result.returncode:
        return f"bwrap cannot create a sandbox here: {result.stderr.strip()}"
    return None


def limits_prefix(*, memory_bytes: int | None, cpu_seconds: int | None,
                  file_bytes: int | None = FILE_BYTES) -> list[str]:
    """``prlimit`` argv prefix applying the limits to the command that follows it.

    Limits are inherited by every process the command starts, and each process gets the
    full CPU allowance of its own: bound the number of processes with the sandbox's PID
    namespace, not here.
    """
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        raise SandboxUnavailable("prlimit is not installed (Debian package util-linux)")
    options = ["--core=0"]
    if memory_bytes is not None:
        options.append(f"--as={int(memory_bytes)}")
    if cpu_seconds is not None:
        seconds = max(1, int(cpu_seconds))
        options.append(f"--cpu={seconds}:{seconds + CPU_GRACE_SECONDS}")
    if file_bytes is not None:
        options.append(f"--fsize={int(file_bytes)}")
    return [prlimit, *options, "--"]


def default_hidden() -> list[Path]:
    """What a sandbox always hides: grading material and the grader's own configuration."""
    from .course import COURSE_DIR

    package = Path(__file__).resolve().parent
    # The tests hold correct answers written differently (tests/assignments/variants).
    hidden = [COURSE_DIR, package, package.parent / ".git", package.parent / "tests"]
    # The home folder (configuration, credentials, history), except what Python runs from:
    # a venv's standard library may live there (pyenv), and the course itself may.
    needed = _needed()
    home = Path.home().resolve()
    if not any(_inside(p, home) for p in needed):
        hidden.append(home)
    elif home.is_dir():
        hidden += [entry for entry in home.iterdir() if not any(_inside(p, entry) for p in needed)]
    return [p for p in hidden if p.exists()]


def _needed() -> list[Path]:
    """What sandboxed Python must read: the repository (course_lib), the environment."""
    return [Path(__file__).resolve().parents[1], Path(sys.prefix).resolve(),
            Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _bwrap_options(*, writable: list[Path], hidden: list[Path],
                   network: bool) -> tuple[list[str], list[str]]:
    """bwrap's options (without the command), in two parts: namespaces and mounts, then the
    remounts that make hidden folders read-only, which must follow any mount made inside
    them (bwrap applies mounts in order)."""
    options = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
               "--die-with-parent", "--new-session"]
    if network:
        options.append("--share-net")
    privates = [private for private in ("/tmp", "/var/tmp", "/run") if os.path.isdir(private)]
    for private in privates:
        options += ["--size", str(PRIVATE_TMP_BYTES), "--tmpfs", private]
    # A clone of the course (CI's, say) or its environment may live in one of those: show it
    # again, read-only; what it holds of grading material is hidden below.
    for path in _needed():
        if any(_inside(path, Path(private).resolve()) for private in privates) and path.is_dir():
            options += ["--ro-bind", str(path), str(path)]
    folders = []
    for path in [Path(p).resolve() for p in [*hidden, *default_hidden()]]:
        if path.is_dir():
            options += ["--tmpfs", str(path)]
            folders.append(str(path))
        elif path.exists():
            options += ["--ro-bind", "/dev/null", str(path)]
    for path in writable:
        path = Path(path).resolve()
        if not path.is_dir():
            raise ValueError(f"a writable path of the sandbox must be an existing folder: {path}")
        options += ["--bind", str(path), str(path)]
    return options, _remounts(folders, writable)


def _remounts(folders: list[str], writable: list) -> list[str]:
    """Make hidden folders read-only, except where a writable folder is mounted over one."""
    kept = [f for f in folders if not any(_inside(Path(f), Path(w).resolve()) for w in writable)]
    return [option for folder in kept for option in ("--remount-ro", folder)]


def _environment_options(environ, extra: dict[str, str] | None = None) -> list[str]:
    options = ["--clearenv"]
    for name, value in {**{n: environ[n] for n in KEPT_ENVIRONMENT if n in environ},
                        "HOME": SANDBOX_HOME, **(extra or {})}.items():
        options += ["--setenv", name, value]
    return options


def wrap(argv: list[str], *, writable: list[Path], hidden: list[Path],
         memory_bytes: int | None = None, cpu_seconds: int | None = None,
         network: bool = False, cwd: Path | None = None,
         environment: dict[str, str] | None = None) -> list[str]:
    """argv that runs ``argv`` sandboxed (see the module's docstring), with a cleared
    environment (but for KEPT_ENVIRONMENT and ``environment``) and the limits applied;
    ``cwd`` (default: the current folder, when the sandbox shows it) is its working folder.

    Raises SandboxUnavailable when bwrap does not work here.
    """
    failure = why_unavailable()
    if failure:
        raise SandboxUnavailable(failure)
    mounts, remounts = _bwrap_options(writable=writable, hidden=hidden, network=network)
    chdir = ["--chdir", str(Path(cwd).resolve())] if cwd is not None else []
    return [*limits_prefix(memory_bytes=memory_bytes, cpu_seconds=cpu_seconds),
            shutil.which("bwrap"), *mounts, *remounts, *chdir,
            *_environment_options(os.environ, environment), "--", *argv]


def kernel_setup(scratch: Path, *, hidden: list[Path], memory_bytes: int | None,
                 cpu_seconds: int | None, sockets: Path,
                 zygote: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """Environment additions and nbgrader arguments that make the kernels nbgrader starts
    sandboxed as ``wrap`` does (nbgrader itself is not: it must read the gradebook).

    Writes a kernelspec ``fdl-sandbox`` under ``scratch`` (found through JUPYTER_PATH, and
    forced on every notebook whatever kernel its metadata names), and puts kernels' sockets
    under ``scratch`` too: call it once per nbgrader process running at the same time, each
    with a scratch folder of its own. Each kernel sees, writable, only the folder it runs in
    (the submission's autograded folder) and a private folder for its sockets.
    Without bwrap the kernels still get the resource limits, and are not isolated: check
    ``available()`` before claiming otherwise.

    ``sockets`` is where the kernels' socket files go: a short folder (``socket_folder()``
    makes one), since a Unix socket's path must fit in 107 bytes and a scratch folder may lie
    deep (a long TMPDIR).

    ``zygote``: the control socket of an ``autograder.zygote.Zygote``, which then forks the
    kernels in its own sandbox (hidden paths and limits are the zygote's; the kernel's
    folder and ``sockets`` must lie in the folder the zygote shares).
    """
    scratch = Path(scratch).resolve()
    spec_dir = scratch / "jupyter" / "kernels" / KERNEL_NAME
    runtime = Path(sockets).resolve()
    if len(str(runtime)) > SOCKET_FOLDER_CHARACTERS:
        raise ValueError(f"the kernels' socket folder {runtime} is too long for Unix socket "
                         f"paths (at most {SOCKET_FOLDER_CHARACTERS} characters here)")
    spec_dir.mkdir(parents=True, exist_ok=True)
    runtime.mkdir(parents=True, exist_ok=True)
    kernel = [sys.executable, "-m", "ipykernel_launcher"]
    limits = limits_prefix(memory_bytes=memory_bytes, cpu_seconds=cpu_seconds)
    if zygote is not None:
        launch = {"zygote": str(zygote), "runtime": str(runtime)}
        (spec_dir / "launch.json").write_text(json.dumps(launch, indent=1))
        argv = [sys.executable, "-I", "-S", str(Path(__file__).resolve()), "kernel",
                str(spec_dir / "launch.json"), "{connection_file}"]
        display = "Python 3 (sandboxed, forked)"
    elif available():
        # The socket folder too: other kernels' private folders (their keys) are in it.
        mounts, remounts = _bwrap_options(writable=[], hidden=[*hidden, scratch, runtime],
                                          network=False)
        launch = {"limits": limits, "bwrap": shutil.which("bwrap"), "kernel": kernel,
                  "mounts": mounts, "hidden_folders": remounts[1::2], "runtime": str(runtime)}
        (spec_dir / "launch.json").write_text(json.dumps(launch, indent=1))
        argv = [sys.executable, "-I", "-S", str(Path(__file__).resolve()), "kernel",
                str(spec_dir / "launch.json"), "{connection_file}"]
        display = "Python 3 (sandboxed)"
    else:
        argv = [*limits, *kernel, "-f", "{connection_file}"]
        display = "Python 3 (resource limits only, not isolated)"
    # The kernel interrupts itself on request: a signal to bwrap would not reach it.
    spec = {"argv": argv, "display_name": display, "language": "python",
            "interrupt_mode": "message", "metadata": {"debugger": False}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    environment = {"JUPYTER_PATH": str(scratch / "jupyter")}
    # Socket paths are <ip>-<n>, n the first free number: an absolute prefix of this call's
    # own, so that kernels of concurrent graders (each with its own scratch) never collide.
    arguments = [f"--ExecutePreprocessor.kernel_name={KERNEL_NAME}", "--KernelManager.transport=ipc",
                 f"--KernelManager.ip={runtime / 'kernel'}"]
    return environment, arguments


class Cgroup:
    """A control group: how many processes (threads included) and how much memory a group of
    processes may use together. Per-process limits do not stop a fork bomb, nor a memory
    bomb spread over many processes; this does. It needs write access to the cgroup
    filesystem (v1 or v2; root, in practice): ``create`` returns None where there is none."""

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, folders: dict[Path, dict[str, int]]):
        self.folders = list(folders)

    @classmethod
    def create(cls, *, processes: int, memory_bytes: int | None) -> Cgroup | None:
        name = f"fdl-{os.getpid()}-{os.urandom(4).hex()}"
        if (cls.ROOT / "cgroup.controllers").exists():  # v2: one tree; its root delegates
            enabled = (cls.ROOT / "cgroup.subtree_control").read_text().split()
            settings = {cls.ROOT / name: {"pids.max": processes, **(
                {"memory.max": memory_bytes} if memory_bytes and "memory" in enabled else {})}}
            if "pids" not in enabled:
                return None
        else:  # v1: a tree per controller
            settings = {cls.ROOT / "pids" / name: {"pids.max": processes}}
            if memory_bytes and (cls.ROOT / "memory").is_dir():
                settings[cls.ROOT / "memory" / name] = {"memory.limit_in_bytes": memory_bytes}
        group = cls(settings)
        try:
            for folder in settings:  # what graders killed outright left behind: empty
                for stale in folder.parent.glob("fdl-*-*"):
                    if not _alive(int(stale.name.split("-")[1])):
                        cls({stale: {}}).close()
            for folder, values in settings.items():
                folder.mkdir()
                for file, value in values.items():
                    (folder / file).write_text(str(value))
        except OSError:
            group.close()
            return None
        return group

    def enter(self) -> None:
        """Put the calling process in the group (its children follow): a ``preexec_fn``."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def close(self) -> None:
        """Kill what runs in the group, and remove it."""
        for folder in self.folders:
            for _ in range(100):
                try:
                    pids = (folder / "cgroup.procs").read_text().split()
                except OSError:
                    break
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.01)
            try:
                folder.rmdir()
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def socket_folder() -> tempfile.TemporaryDirectory:
    """A new, short folder for kernels' sockets (removed on exit): under /tmp when it can be
    written, whatever TMPDIR says, since socket paths are limited to 107 bytes."""
    short = "/tmp" if os.path.isdir("/tmp") and os.access("/tmp", os.W_OK) else None
    return tempfile.TemporaryDirectory(prefix="fdl-", dir=short)


def _launch_kernel(spec_path: str, connection_file: str) -> None:
    """Exec the sandboxed kernel for ``connection_file`` (runs outside the sandbox).

    The kernel must not see the files of other kernels (their connection files hold the keys
    that drive them), so it gets a private folder holding a copy of its connection file, with
    its sockets inside; the kernel manager reaches them through symbolic links at the socket
    paths it chose.
    """
    spec = json.loads(Path(spec_path).read_text())
    info = json.loads(Path(connection_file).read_text())
    if info.get("transport") != "ipc":
        raise SystemExit(f"sandboxed kernels need the ipc transport, got {info.get('transport')}")
    private = Path(tempfile.mkdtemp(prefix="kernel-", dir=spec["runtime"]))
    for key in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"):
        link = f"{info['ip']}-{info[key]}"
        if os.path.islink(link):  # left by a kernel whose manager died; the manager saw it free
            os.unlink(link)
        os.symlink(private / f"kernel-{info[key]}", link)
    (private / "connection.json").write_text(json.dumps({**info, "ip": str(private / "kernel")}))
    cwd = Path.cwd().resolve()
    if "zygote" in spec:
        raise SystemExit(_forked_kernel(spec["zygote"], private / "connection.json", cwd))
    # The private folder last: it stays visible even inside the working folder.
    argv = [*spec["limits"], spec["bwrap"], *spec["mounts"],
            "--bind", str(cwd), str(cwd), "--bind", str(private), str(private),
            *_remounts(spec["hidden_folders"], [cwd, private]), "--chdir", str(cwd),
            *_environment_options(os.environ), "--", *spec["kernel"], "-f", str(private / "connection.json")]
    os.execv(argv[0], argv)


def _forked_kernel(control: str, connection_file: Path, cwd: Path) -> int:
    """Have the zygote listening at ``control`` fork the kernel, and stay until it ends (the
    kernel manager watches this process; when it is killed, the zygote kills the kernel)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(60)  # a zygote still importing, on a loaded machine
        connection.connect(control)
        request = {"op": "kernel", "connection_file": str(connection_file), "cwd": str(cwd)}
        connection.sendall(json.dumps(request).encode() + b"\n")
        replies = connection.makefile("rb")
        started = json.loads(replies.readline() or b"{}")
        if "pid" not in started:
            print(f"the zygote did not start the kernel: {started}", file=sys.stderr)
            return 1
        connection.settimeout(None)
        ended = json.loads(replies.readline() or b"{}")
    code = ended.get("exit", 1)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "kernel":
        raise SystemExit("usage: python -I -S sandbox.py kernel SPEC CONNECTION_FILE")
    _launch_kernel(sys.argv[2], sys.argv[3])
