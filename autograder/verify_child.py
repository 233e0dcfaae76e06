"""The untrusted half of ``verify``: run a student's code and the requested calls, write arrays.

Run as a script (``python -I verify_child.py WORK``) in a fresh process, sandboxed where the
machine allows, with WORK holding ``request.json`` (the code to run and, for each part, the
calls to make) and ``inputs.npz`` (the arrays to call with). Nothing here decides anything:
for each part it writes ``<part>.npy`` (each call's result and its array arguments after the
call, as float64, end to end in one flat array) and then ``<part>.json`` (where each array
lies in it, the exceptions raised and the warnings emitted, as text); the parent reads both
without pickle and compares them with the reference itself.
Everything the student's code can do to this process (patch numpy, fake the files) changes
only the arrays the parent receives.
"""
import contextlib
import importlib
import io
import json
import os
import sys
import traceback
import types
import warnings

import numpy as np

MESSAGE_CHARACTERS = 400


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
    arrays, errors = {}, {}
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn", under="ignore"), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("always")
        for i, call in enumerate(part["calls"]):
            args = [np.array(inputs[key]) for key in call["args"]]
            missing = [n for n in call["needs"] or [call["function"]] if n not in namespace]
            if missing or not callable(namespace.get(call["function"])):
                errors[i] = f"the notebook does not define {(missing or [call['function']])[0]}"
                continue
            try:
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
    return arrays, {"errors": errors, "warnings": found}


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
    # The spec's probes (instructor code, as text) see numpy and nothing of the notebook's
    # globals; the notebook's namespace is what each probe is given.
    probes = {}
    for name, source in request["probes"].items():
        scope = {"np": np}
        exec(compile(source, f"<probe {name}>", "exec"), scope)
        probes[name] = scope[name]
    _write_json(os.path.join(work, "started.json"), problems)
    for part in request["parts"]:
        _write_part(work, part["name"], *_run_part(part, namespace, probes, inputs))


if __name__ == "__main__":
    main(sys.argv[1])
