"""The kernel zygote: a sandboxed process that has imported what a kernel needs, once, and
forks a fresh kernel for every request (see ``autograder.zygote``, which starts it).

It runs inside bubblewrap, in a PID namespace of its own, given as source text (the
autograder package is hidden from the sandbox). Its arguments: the file descriptor of the
listening control socket (whose path the sandbox hides: kernels cannot reach it), the host's
PID namespace (so that it never kills outside its own).

Requests are JSON lines on the control socket:

- ``{"op": "reset"}``: kill every other process in the namespace and empty the sandbox's
  private writable folders (/tmp, /var/tmp, /run, /dev/shm), leaving the mount points; the
  reply says whether the namespace is clean. Nothing a kernel left behind reaches the next.
- ``{"op": "kernel", "connection_file": ..., "cwd": ...}``: a reset, then a forked kernel;
  the reply gives its pid, a second line its exit code when it ends. When the requester
  hangs up, the kernel is killed.
"""
import json
import os
import re
import selectors
import shutil
import signal
import socket
import sys
import threading
import time

# Modules a kernel imports when it starts and when the notebooks run (IPython, ipykernel and
# its debugger, numpy, matplotlib): about 1.3 s of CPU per kernel, paid here once. None of
# them starts a thread on import (a fork must not copy a process with threads).
PREIMPORTED = ["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
               "ipykernel.debugger", "IPython.core.completerlib", "IPython.core.debugger",
               "IPython.core.oinspect", "IPython.extensions.storemagic", "psutil", "sqlite3",
               "tornado.platform.asyncio", "faulthandler", "numpy", "numpy.random",
               "matplotlib.pyplot", "matplotlib_inline.backend_inline"]
PRIVATE = ["/tmp", "/var/tmp", "/run", "/dev/shm"]  # emptied at each reset
DEVICES = "/dev"  # writable too: what a kernel adds there is removed
PR_SET_DUMPABLE = 4


def _own_namespace(host_namespace: str) -> bool:
    return os.readlink("/proc/self/ns/pid") != host_namespace and os.getpid() < 10


def _others() -> list[int]:
    """Live processes of the namespace other than this one and its init (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (1, os.getpid()):
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile
        if state != "Z":
            found.append(int(entry))
    return found


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _empty(folder: str, kept: list[str]) -> None:
    """Remove what ``folder`` holds, except the mount points ``kept`` and the way to them."""
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if path in kept:
            continue
        if any(k.startswith(path + "/") for k in kept):
            _empty(path, kept)
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            os.chmod(path, 0o700)  # a kernel may have taken its own permissions away
            shutil.rmtree(path, onerror=lambda f, p, e: (os.chmod(os.path.dirname(p), 0o700), f(p)))
        else:
            os.unlink(path)


def reset(kept: list[str], kernels: dict, devices: set[str]) -> str:
    """Kill every other process and empty the private folders; '' when clean, else why not."""
    for _ in range(200):
        if not _others():
            break
        try:
            os.kill(-1, signal.SIGKILL)  # every process of this PID namespace but its init
        except ProcessLookupError:
            pass
        _reap()
        time.sleep(0.002)
    else:
        return f"processes still running after the reset: {_others()}"
    _reap()
    for pid, connection in list(kernels.items()):
        _tell(connection, {"exit": -signal.SIGKILL})
        connection.close()
        del kernels[pid]
    try:
        for folder in PRIVATE:
            if os.path.isdir(folder):
                _empty(folder, kept)
        _empty(DEVICES, [os.path.join(DEVICES, name) for name in devices])
    except OSError as error:
        return f"could not empty the private folders: {error}"
    return ""


def _tell(connection: socket.socket, message: dict) -> None:
    try:
        connection.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass  # the requester is gone


def _become_kernel(request: dict, listener: socket.socket, connections: list) -> None:
    """In the forked child: turn into the kernel the request describes (never returns)."""
    code = 1
    try:
        listener.close()
        for connection in connections:
            connection.close()
        os.setsid()
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        _prctl(PR_SET_DUMPABLE, 1)  # as a fresh process is
        os.chdir(request["cwd"])
        # A fresh process draws fresh seeds (Python's random reseeds itself after a fork).
        import numpy
        numpy.random.seed()
        from ipykernel import kernelapp

        sys.argv = [kernelapp.__file__, "-f", request["connection_file"]]
        kernelapp.IPKernelApp.launch_instance(sys.argv[1:])
        code = 0
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else 1
    except BaseException as error:
        print(f"the kernel failed: {type(error).__name__}: {error}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _prctl(option: int, value: int) -> None:
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def serve(listener: socket.socket, kept: list[str]) -> None:
    devices = set(os.listdir(DEVICES))
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    kernels: dict[int, socket.socket] = {}  # pid -> the requester's connection
    buffers: dict[socket.socket, bytes] = {}
    while True:
        for key, _ in selector.select():
            kind = key.data
            if kind == "accept":
                connection, _ = listener.accept()
                buffers[connection] = b""
                selector.register(connection, selectors.EVENT_READ, "request")
            elif kind == "request":
                connection = key.fileobj
                data = connection.recv(65536)
                if not data:  # the requester hung up: its kernel goes too
                    selector.unregister(connection)
                    buffers.pop(connection, None)
                    for pid, owner in list(kernels.items()):
                        if owner is connection:
                            _kill(pid)
                    connection.close()
                    continue
                if connection not in buffers:
                    continue  # a kernel's requester has nothing more to say
                buffers[connection] += data
                if b"\n" not in buffers[connection]:
                    continue
                line = buffers.pop(connection).split(b"\n", 1)[0]
                try:
                    request = json.loads(line)
                except ValueError:
                    _tell(connection, {"error": "not a JSON request"})
                    continue
                problem = reset(kept, kernels, devices)
                for pidfd_key in [k for k in selector.get_map().values() if k.data == "kernel"]:
                    selector.unregister(pidfd_key.fileobj)
                    os.close(pidfd_key.fd)
                if request.get("op") != "kernel" or problem:
                    _tell(connection, {"ok": not problem, "why": problem})
                    continue
                others = [k.fileobj for k in selector.get_map().values()
                          if isinstance(k.fileobj, socket.socket)]
                pid = os.fork()
                if pid == 0:
                    _become_kernel(request, listener, others)
                kernels[pid] = connection
                selector.register(os.pidfd_open(pid), selectors.EVENT_READ, "kernel")
                _tell(connection, {"pid": pid})
            elif kind == "kernel":
                pidfd = key.fd
                selector.unregister(pidfd)
                os.close(pidfd)
                _reap_kernels(kernels)


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _reap_kernels(kernels: dict) -> None:
    for pid, connection in list(kernels.items()):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, status = pid, 0
        if done:
            _kill(pid)  # what the kernel started in its session
            _tell(connection, {"exit": os.waitstatus_to_exitcode(status)})
            del kernels[pid]


def _mount_points() -> list[str]:
    """Every mount point of the sandbox (the bound folders, the hidden ones): they stay."""
    points = []
    with open("/proc/self/mountinfo") as mounts:
        for line in mounts:
            point = line.split()[4]
            points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), point))
    return points


def main(argv: list[str]) -> None:
    listener_fd, host_namespace = int(argv[0]), argv[1]
    if not _own_namespace(host_namespace):
        raise SystemExit("the zygote must run in a PID namespace of its own (it kills "
                         "every other process of its namespace)")
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # as ipykernel's launcher does; IPython puts the kernel's folder back
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in PREIMPORTED:
        try:
            __import__(name)
        except Exception as error:  # the kernel will import it (or fail) itself
            print(f"zygote: not preimported: {name}: {error}", file=sys.stderr)
    if threading.active_count() > 1:  # a forked kernel would inherit its locks, not its threads
        raise SystemExit(f"zygote: a preimported module started a thread: {threading.enumerate()}")
    # Kernels run as the same user: non-dumpable, the zygote cannot be traced or have its
    # memory read or written by them (/proc/<pid>/mem).
    _prctl(PR_SET_DUMPABLE, 0)
    listener = socket.socket(fileno=listener_fd)
    serve(listener, _mount_points())


if __name__ == "__main__":
    main(sys.argv[1:])
