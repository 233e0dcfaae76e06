"""The untrusted half of ``verify``: run a student's code and the requested calls, write arrays.

Run as a script (``python -I verify_child.py WORK``) in a fresh process, sandboxed where the
machine allows, with WORK holding ``request.json`` (the code to run and, for each part, the
calls to make) and ``inputs.npz`` (the arrays to call with). Nothing here decides anything:
for each part it writes ``<part>.npy`` (each call's result and its array arguments after the
call, as float64, end to end in one flat array) and then ``<part>.json`` (where each array
lies in it, the exceptions raised, the warnings emitted and, for each call that watches
modules, the functions of theirs it ran, as text); the parent reads both without pickle and
compares them with the reference itself.
Everything the student's code can do to this process (patch numpy, fake the files) changes
only the arrays the parent receives.
"""
import contextlib
import importlib
import importlib.util
import io
import json
import os
import sys
import traceback
import types
import warnings

import numpy as np

# Before the notebook's code runs, which could replace it in sys.modules.
from course_lib.testing import substitute

MESSAGE_CHARACTERS = 400
WATCHED_NAMES = 5  # the functions of watched modules a call reports, at most


class _NoShell:
    """What ``get_ipython()`` returns here: magics do nothing (there is no IPython)."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class _LazyModule(types.ModuleType):
    """A heavy module (matplotlib.pyplot) imported only when code uses it: the setup cells
    import it for plots that verification never draws."""

    def __getattr__(self, name):
        for key in [k for k in sys.modules if k == self.__name__ or k.startswith(self.__name__ + ".")
                    or self.__name__.startswith(k + ".")]:
            if isinstance(sys.modules[key], _LazyModule):
                del sys.modules[key]
        return getattr(importlib.import_module(self.__name__), name)


def _defer(name: str) -> None:
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:i]), _LazyModule(".".join(parts[:i])))
    for i in range(1, len(parts)):  # `import a.b as c` reads b as an attribute of a
        setattr(sys.modules[".".join(parts[:i])], parts[i], sys.modules[".".join(parts[:i + 1])])


def _describe(error: BaseException) -> str:
    """What the student's code raised, and where in the student's cells; a check of the
    spec's probe that failed (an AssertionError raised by the probe itself) says what it says."""
    stack = traceback.extract_tb(error.__traceback__)
    if isinstance(error, AssertionError) and stack and stack[-1].filename.startswith("<probe"):
        return str(error)[:MESSAGE_CHARACTERS]
    frames = [f for f in stack if f.filename.startswith("<cell")]
    where = f" (in {frames[-1].name}, line {frames[-1].lineno} of {frames[-1].filename[1:-1]})" if frames else ""
    return f"your code raised {type(error).__name__}: {error}"[:MESSAGE_CHARACTERS] + where


@contextlib.contextmanager
def _watching(modules: list, seen: list):
    """Within the block, each function of ``modules`` that the code enters from outside them
    (an entry point, not the module's own helpers, as check_not_calling counts them) is added
    to ``seen`` as "module.function"; the modules' files are found without importing them."""
    files = {}
    for name in modules:
        try:
            files[importlib.util.find_spec(name).origin] = name
        except (ImportError, AttributeError, ValueError):  # not there (hidden): nothing to run
            pass

    def record(frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_filename in files and len(seen) < WATCHED_NAMES and (
                frame.f_back is None or frame.f_back.f_code.co_filename not in files):
            name = f"{files[code.co_filename]}.{code.co_qualname}"
            if name not in seen:
                seen.append(name)

    previous = sys.getprofile()
    if files:
        sys.setprofile(record)
    try:
        yield
    finally:
        sys.setprofile(previous)


def unwatched(function):
    """``function`` with the watch paused while it runs: what a probe calls on purpose (a
    reference it substitutes), not the notebook's code. Given to probes beside ``np``."""
    def run(*args, **kwargs):
        previous = sys.getprofile()
        sys.setprofile(None)
        try:
            return function(*args, **kwargs)
        finally:
            sys.setprofile(previous)
    return run


def _write_json(path: str, value) -> None:
    with open(path + ".tmp", "w") as file:
        json.dump(value, file)
    os.replace(path + ".tmp", path)


class _NotResults(Exception):
    """What a call returned cannot be its results; the message says why."""


def _results(call: dict, result) -> dict:
    """The call's results as float64 arrays, by key suffix: "" for a function's one result,
    ".<k>" for a probe's k-th."""
    if not call["outputs"]:
        if result is None:
            raise _NotResults(f"{call['function']} returned None: a forgotten `return`?")
        return {"": np.array(result, dtype=np.float64)}
    results = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(results) != call["outputs"]:
        raise _NotResults(f"expected {call['outputs']} results, got {len(results)}")
    return {f".{k}": np.array(r, dtype=np.float64) for k, r in enumerate(results)}


def _run_part(part: dict, namespace: dict, probes: dict, inputs) -> tuple[dict, dict]:
    arrays, errors, watched = {}, {}, {}
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn", under="ignore"), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("always")
        for i, call in enumerate(part["calls"]):
            args = [np.array(inputs[key]) for key in call["args"]]
            missing = [n for n in call["needs"] or [call["function"]] if n not in namespace]
            if missing or not callable(namespace.get(call["function"])):
                errors[i] = f"the notebook does not define {(missing or [call['function']])[0]}"
                continue
            # Where the reference cannot be hidden (the setup imports it), the spec has the call
            # watched for running it, as the hidden tests' check_not_calling does.
            seen = watched[i] = []
            try:
                with _watching(call["watch"], seen):
                    if call["probe"]:
                        result = probes[call["probe"]](namespace, *args, **call["kwargs"])
                    else:
                        result = namespace[call["function"]](*args, **call["kwargs"])
            except BaseException as error:  # SystemExit and KeyboardInterrupt too: keep going
                errors[i] = _describe(error)
            else:
                try:
                    arrays.update({f"r{i}{k}": v for k, v in _results(call, result).items()})
                except _NotResults as error:
                    errors[i] = str(error)
                except Exception as error:  # not numbers (np.array of them failed)
                    errors[i] = f"the result is not an array of numbers ({type(error).__name__}: " \
                        f"{error})"[:MESSAGE_CHARACTERS]
            for j, arg in enumerate(args):
                arrays[f"a{i}_{j}"] = np.array(arg, dtype=np.float64)
    found = [[w.category.__name__, str(w.message)[:MESSAGE_CHARACTERS]] for w in caught[:5]]
    return arrays, {"errors": errors, "warnings": found, "watched": watched}


def _write_part(work: str, name: str, arrays: dict, info: dict) -> None:
    """One flat array and where each piece of it lies: one file to read, not one per array."""
    index, offset = {}, 0
    for key, array in arrays.items():
        index[key] = [offset, list(array.shape)]
        offset += array.size
    flat = np.concatenate([a.ravel() for a in arrays.values()]) if arrays else np.zeros(0)
    np.save(os.path.join(work, f"{name}.npy"), flat, allow_pickle=False)
    _write_json(os.path.join(work, f"{name}.json"), {**info, "index": index})


def main(work: str) -> None:
    with open(os.path.join(work, "request.json")) as file:
        request = json.load(file)
    inputs = np.load(os.path.join(work, "inputs.npz"), allow_pickle=False)
    for name in request["deferred"]:
        _defer(name)
    namespace = {"__name__": "__main__", "get_ipython": _NoShell}
    problems = []
    for cell in request["cells"]:
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                exec(compile(cell["source"], f"<cell {cell['name']}>", "exec"), namespace)
        except BaseException as error:
            problems.append(_describe(error))
    # The spec's probes (instructor code, as text) see numpy, unwatched and substitute,
    # nothing of the notebook's globals; the notebook's namespace is what each probe is given.
    probes = {}
    for name, source in request["probes"].items():
        scope = {"np": np, "unwatched": unwatched, "substitute": substitute}
        exec(compile(request["probe_helpers"], f"<probe {name}>", "exec"), scope)
        exec(compile(source, f"<probe {name}>", "exec"), scope)
        probes[name] = scope[name]
    _write_json(os.path.join(work, "started.json"), problems)
    for part in request["parts"]:
        _write_part(work, part["name"], *_run_part(part, namespace, probes, inputs))


if __name__ == "__main__":
    main(sys.argv[1])
