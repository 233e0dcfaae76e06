"""Static checks of a submission, for an instructor to review: what the student's code imports
and touches, and what changed in the cells the student was not meant to change.

Nothing here executes the submission: code cells are read as text, IPython syntax (magics,
shell escapes) is rewritten to Python by IPython's own transformer, and the result is parsed
with ``ast``. Flags never change points; they point an instructor at a submission, and
``verify`` (which does not depend on the student's cooperation) decides what is earned.

What is flagged:

- ``imports-reference``: the student's code reaches course_lib's implementation of what the
  assignment asks for: a module the hidden tests import (``from course_lib import activations
  as reference``) that no student-facing cell imports, or a course_lib module built on one, in
  any form (``import``, ``from ... import``, ``importlib.import_module``, ``__import__``,
  ``getattr(course_lib, "activ" + "ations")``, a path to its file, ``course_lib.activations``
  as an attribute), or a name only the hidden tests define (``reference``).
- ``kernel-tampering``: code that can change how the tests run or read them: the IPython
  shell (``get_ipython``, magics other than harmless ones, shell escapes), tracing and
  profiling hooks, ``builtins``/``__builtins__``, ``sys.modules``, ``ctypes``, ``gc``,
  frame inspection, ``signal``, ``exec``/``eval``/``compile``, ``globals()``, assigning to an
  attribute of a module (``np.allclose = ...``), and rebinding a name the notebook's locked
  cells define (``np``, ``check_close``).
- ``locked-cell-changed``, ``locked-cell-deleted``, ``test-cell-changed``,
  ``test-cell-deleted``, ``solution-cell-deleted``: a cell of the source notebook, by grade_id,
  differs from (or is missing in) the submission; whitespace at line ends does not count.
- ``system-access``: processes, sockets, databases (``subprocess``, ``socket``, ``sqlite3``,
  ``os.system``, ``os._exit``), or a path into grading material (``../``, ``gradebook.db``).
- ``metadata-changed``: nbgrader metadata differs from the source's (grade, solution, locked,
  points, grade_id), a cell claims a grade_id the source does not have, or a grade_id repeats.
- ``cells-reordered``: the source's cells are present but in another order.
"""
from __future__ import annotations

import ast
import builtins
import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import course_lib

# nbgrader's delimiters of hidden tests (the course keeps its defaults).
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
METADATA_KEYS = ("grade", "solution", "locked", "points", "grade_id")
HARMLESS_MAGICS = {"matplotlib", "time", "timeit", "precision", "pprint", "pinfo", "pinfo2"}
MAGIC_CALLS = {"run_line_magic", "run_cell_magic", "system", "getoutput"}
# Modules whose mere import is suspicious in an assignment's code.
TAMPERING_MODULES = {"builtins", "ctypes", "gc", "inspect", "IPython", "signal", "atexit",
                     "faulthandler", "_thread"}
# Attributes of sys (imports of them too) that reach the interpreter's machinery.
SYS_ATTRIBUTES = {"settrace", "setprofile", "_getframe", "modules", "meta_path", "path_hooks",
                  "addaudithook", "displayhook", "excepthook", "breakpointhook"}
# Attributes that reach frames, code, globals or IPython's input machinery, on any object.
TAMPERING_ATTRIBUTES = {
    "settrace", "setprofile", "_getframe", "ast_transformers", "input_transformers_cleanup",
    "input_transformers_post", "f_back", "f_globals", "f_locals", "f_builtins", "tb_frame",
    "gi_frame", "cr_frame", "__globals__", "__code__", "__closure__", "__builtins__",
    "__subclasses__", "currentframe", "getouterframes", "get_referrers", "get_objects",
}
TAMPERING_NAMES = {"get_ipython", "__builtins__", "exec", "eval", "compile", "globals",
                   "breakpoint"}
# What reaches outside the notebook: processes, sockets, the gradebook's database.
SYSTEM_MODULES = {"socket", "subprocess", "sqlite3", "urllib", "http", "requests", "multiprocessing",
                  "pty", "asyncio", "ssl", "ftplib", "smtplib", "psycopg", "psycopg2", "sqlalchemy"}
OS_CALLS = {"system", "popen", "fork", "forkpty", "kill", "killpg", "_exit", "execv", "execve",
            "execvp", "execl", "execlp", "spawnv", "spawnl", "posix_spawn", "setsid"}
SENSITIVE_PATHS = re.compile(r"(^|/)(\.\.|gradebook\.db|source|nbgrader_config\.py|\.git|autograder)(/|$)")


@dataclass(frozen=True)
class Flag:
    code: str
    message: str


def scan_submission(submitted: Path, source: Path) -> list[Flag]:
    """Flags for the notebook ``submitted`` against the instructor's notebook ``source``
    (both nbformat 4 JSON). Each flag's message names the cell and what was found."""
    submitted_cells = _code_and_markdown(json.loads(Path(submitted).read_text(encoding="utf-8")))
    source_cells = _code_and_markdown(json.loads(Path(source).read_text(encoding="utf-8")))
    released = [_released(cell) for cell in source_cells]
    flags = _structure_flags(submitted_cells, released)
    context = _context(Path(source).read_text(encoding="utf-8"))
    seen = set()
    for index, cell in enumerate(submitted_cells):
        if cell["cell_type"] != "code" or _given_unchanged(cell, released):
            continue
        for flag in _code_flags(cell["source"], _where(cell, index), context):
            if flag not in seen:
                seen.add(flag)
                flags.append(flag)
    return flags


# --- cells and their nbgrader metadata --------------------------------------------------------

def _code_and_markdown(notebook: dict) -> list[dict]:
    cells = []
    for cell in notebook.get("cells", []):
        source = cell.get("source", "")
        cells.append({"cell_type": cell.get("cell_type"),
                      "source": "".join(source) if isinstance(source, list) else str(source),
                      "nbgrader": (cell.get("metadata") or {}).get("nbgrader") or {}})
    return cells


def _split_hidden(text: str, begin: str = BEGIN_HIDDEN, end: str = END_HIDDEN) -> tuple[str, str]:
    """(what the student version shows, the region it does not): nbgrader's release drops
    every line from a BEGIN line to the END line, both included (hidden tests; solutions,
    which it replaces with a stub)."""
    shown, hidden, inside = [], [], False
    for line in text.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        else:
            (hidden if inside else shown).append(line)
    return "\n".join(shown), "\n".join(hidden)


def _released(cell: dict) -> dict:
    """The cell as the student version shows it: hidden test regions removed."""
    return {**cell, "source": _split_hidden(cell["source"])[0]} if cell["nbgrader"].get("grade") else cell


def _normalized(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _where(cell: dict, index: int) -> str:
    grade_id = cell["nbgrader"].get("grade_id")
    return f"cell {grade_id!r}" if grade_id else f"cell {index + 1} (no grade_id)"


def _given_unchanged(cell: dict, released: list[dict]) -> bool:
    """A cell the instructor wrote, unchanged: not the student's code."""
    text = _normalized(cell["source"])
    grade_id = cell["nbgrader"].get("grade_id")
    for original in released:
        if original["nbgrader"].get("solution"):
            continue
        if original["nbgrader"].get("grade_id") == grade_id and _normalized(original["source"]) == text:
            return True
    return False


def _kind(cell: dict) -> str:
    meta = cell["nbgrader"]
    if meta.get("grade") and not meta.get("solution"):
        return "test"
    if meta.get("solution"):
        return "solution"
    return "locked"


def _structure_flags(cells: list[dict], released: list[dict]) -> list[Flag]:
    flags = []
    by_id: dict[str, dict] = {}
    for cell in cells:
        grade_id = cell["nbgrader"].get("grade_id")
        if grade_id is None:
            continue
        if grade_id in by_id:
            flags.append(Flag("metadata-changed", f"grade_id {grade_id!r} is used by two cells"))
        by_id.setdefault(grade_id, cell)
    expected = {c["nbgrader"]["grade_id"]: c for c in released if c["nbgrader"].get("grade_id")}
    for grade_id, original in expected.items():
        kind = _kind(original)
        cell = by_id.get(grade_id)
        if cell is None:
            flags.append(Flag(f"{kind}-cell-deleted", f"the {kind} cell {grade_id!r} is missing"))
            continue
        changed = [key for key in METADATA_KEYS if _meta_value(cell, key) != _meta_value(original, key)]
        if cell["cell_type"] != original["cell_type"]:
            changed.append("cell type")
        if changed:
            flags.append(Flag("metadata-changed", f"cell {grade_id!r}: {', '.join(changed)} "
                                                  "differ from the source notebook"))
        if kind != "solution" and _normalized(cell["source"]) != _normalized(original["source"]):
            flags.append(Flag(f"{kind}-cell-changed", f"the {kind} cell {grade_id!r} was edited"))
    for grade_id in by_id.keys() - expected.keys():
        flags.append(Flag("metadata-changed", f"a cell claims grade_id {grade_id!r}, "
                                              "which the source notebook does not have"))
    order = [c["nbgrader"].get("grade_id") for c in cells if c["nbgrader"].get("grade_id") in expected]
    wanted = [grade_id for grade_id in expected if grade_id in order]
    if list(dict.fromkeys(order)) != wanted:
        flags.append(Flag("cells-reordered", "the graded and locked cells are not in the source "
                                             "notebook's order"))
    return flags


def _meta_value(cell: dict, key: str):
    value = cell["nbgrader"].get(key)
    if key == "points":
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return value
    if key in ("grade", "solution", "locked"):
        return bool(value)
    return value


# --- what the code touches ---------------------------------------------------------------------

@lru_cache(maxsize=32)
def _context(source_text: str) -> "_Context":
    cells = _code_and_markdown(json.loads(source_text))
    return _Context.of([_released(c) for c in cells], cells)


@dataclass(frozen=True)
class _Context:
    """What the assignment makes suspicious: its reference modules (and the course_lib modules
    built on them), the names only the hidden tests define, and the names the locked setup
    cells import or define for the tests (rebinding them changes what the tests call)."""
    forbidden: frozenset[str]
    hidden_names: frozenset[str]
    given_names: frozenset[str]
    given_imports: tuple[tuple[str, str], ...]  # (name, module) the locked cells import

    @classmethod
    def of(cls, released: list[dict], source: list[dict]) -> "_Context":
        # What the student version shows: given cells, and the given lines of solution cells.
        student_facing = [_split_hidden(c["source"], BEGIN_SOLUTION, END_SOLUTION)[0]
                          for c in released if c["cell_type"] == "code"]
        hidden = [_split_hidden(c["source"])[1] for c in source
                  if c["cell_type"] == "code" and c["nbgrader"].get("grade")]
        references = (set().union(*map(_course_lib_imports, hidden))
                      - set().union(*map(_course_lib_imports, student_facing)))
        visible = set().union(*map(_bound_names, student_facing))
        hidden_bound = set().union(*map(_bound_names, hidden))
        locked = [c["source"] for c in released if c["cell_type"] == "code"
                  and c["nbgrader"].get("locked") and not c["nbgrader"].get("grade")]
        imports = {pair for text in locked for pair in _aliases(_parse(text)).items()}
        defined = {node.name for text in locked for node in ast.walk(_parse(text) or ast.Module([], []))
                   if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
        given_modules = set().union(*map(_course_lib_imports, student_facing))
        return cls(frozenset(_built_on(references) - given_modules),
                   frozenset(hidden_bound - visible - set(dir(builtins))),
                   frozenset(defined | {name for name, _ in imports}), tuple(sorted(imports)))


@lru_cache(maxsize=4096)
def _parse(text: str) -> ast.AST | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(text))
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return None  # code that cannot be parsed cannot run either


def _course_lib_imports(text: str) -> set[str]:
    tree = _parse(text)
    modules = set()
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Import):
            modules |= {a.name for a in node.names if a.name.startswith("course_lib.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "course_lib":
            if node.module == "course_lib":
                modules |= {f"course_lib.{a.name}" for a in node.names}
            else:
                modules.add(node.module)
    return modules


def _bound_names(text: str) -> set[str]:
    tree = _parse(text)
    names = set()
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


@cache
def _course_lib_graph() -> dict[str, set[str]]:
    """course_lib module -> the course_lib modules it imports (read from the sources)."""
    package = Path(course_lib.__file__).parent
    graph = {}
    for path in package.glob("*.py"):
        name = "course_lib" if path.stem == "__init__" else f"course_lib.{path.stem}"
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = node.module or ""
                imported |= ({f"course_lib.{base}"} if base else {f"course_lib.{a.name}" for a in node.names})
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("course_lib."):
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names if a.name.startswith("course_lib.")}
        graph[name] = imported
    return graph


def _built_on(references: set[str]) -> set[str]:
    """The reference modules and every course_lib module that imports one, transitively."""
    graph = _course_lib_graph()
    closure = set(references)
    while True:
        more = {m for m, imported in graph.items() if m not in closure and imported & closure}
        if not more:
            return closure
        closure |= more


def _strings(tree: ast.AST) -> list[str]:
    """String constants, with constant concatenations ("a" + "b", "".join([...])) folded."""
    found = []

    def fold(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = fold(node.left), fold(node.right)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.JoinedStr):
            parts = [fold(v) if not isinstance(v, ast.FormattedValue) else fold(v.value) for v in node.values]
            return "".join(parts) if all(p is not None for p in parts) else None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
                and len(node.args) == 1 and isinstance(node.args[0], (ast.List, ast.Tuple))):
            glue, parts = fold(node.func.value), [fold(e) for e in node.args[0].elts]
            return glue.join(parts) if glue is not None and all(p is not None for p in parts) else None
        return None

    for node in ast.walk(tree):
        value = fold(node)
        if value is not None:
            found.append(value)
    return found


def _aliases(tree: ast.AST | None) -> dict[str, str]:
    """Name -> what it was imported as (``import numpy as np``: np -> numpy;
    ``from sys import modules``: modules -> sys.modules)."""
    aliases = {}
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _code_flags(text: str, where: str, context: _Context) -> list[Flag]:
    tree = _parse(text)
    if tree is None:
        return []
    flags = []

    def flag(code, what):
        flags.append(Flag(code, f"{where}: {what}"))

    aliases = {**dict(context.given_imports), **_aliases(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                _check_module(alias.name, flag, context)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            for alias in node.names:
                _check_module(f"{node.module}.{alias.name}", flag, context)
    mentions_course_lib = "course_lib" in text
    for value in _strings(tree):
        for module in context.forbidden:
            leaf = module.rsplit(".", 1)[-1]
            if (module in value or module.replace(".", "/") in value
                    or (mentions_course_lib and re.fullmatch(rf"\.?{leaf}(\.pyc?)?", value))):
                flag("imports-reference", f"names {module} in the string {value[:60]!r}")
        if SENSITIVE_PATHS.search(value) and "/" in value:
            flag("system-access", f"names the path {value[:60]!r}")
    bound = _bound_names(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in TAMPERING_NAMES:
                magic = _magic(node, tree)
                if magic is None:
                    flag("kernel-tampering", f"uses {node.id}")
                elif magic.lstrip("%") not in HARMLESS_MAGICS:
                    flag("kernel-tampering", f"runs {magic}")
            elif node.id in context.hidden_names and node.id not in bound:
                flag("imports-reference", f"uses {node.id!r}, which only the hidden tests define")
        elif isinstance(node, ast.Attribute):
            root = aliases.get(_root(node.value) or "", "")
            if node.attr in TAMPERING_ATTRIBUTES or (root == "sys" and node.attr in SYS_ATTRIBUTES):
                flag("kernel-tampering", f"uses {_dotted(node)}")
            if root.split(".")[0] == "course_lib":
                _check_module(f"{root}.{node.attr}", flag, context)
            if isinstance(node.ctx, (ast.Store, ast.Del)) and root:
                flag("kernel-tampering", f"assigns to {_dotted(node)}, an attribute of {root}")
            if root == "os" and node.attr in OS_CALLS:
                flag("system-access", f"uses os.{node.attr}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("setattr", "delattr", "vars") and node.args
              and aliases.get(_root(node.args[0]) or "")):
            flag("kernel-tampering", f"calls {node.func.id} on {aliases[_root(node.args[0])]}")
    for statement in tree.body:
        for name in _top_level_bindings(statement):
            if name in context.given_names and _aliases(statement).get(name) != dict(context.given_imports).get(name, ""):
                flag("kernel-tampering", f"rebinds {name!r}, which the notebook's locked cells define")
    return flags


def _check_module(name: str, flag, context: _Context) -> None:
    """Flag an imported (or attribute-accessed) dotted name."""
    for module in context.forbidden:
        if name == module or name.startswith(module + "."):
            flag("imports-reference", f"imports {module}")
    if name.split(".")[0] in TAMPERING_MODULES:
        flag("kernel-tampering", f"imports {name}")
    elif name.split(".")[0] in SYSTEM_MODULES:
        flag("system-access", f"imports {name}")
    elif name.startswith("sys.") and name.split(".")[1] in SYS_ATTRIBUTES:
        flag("kernel-tampering", f"imports {name}")


def _root(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node) -> str:
    try:
        return ast.unparse(node)
    except (ValueError, RecursionError):
        return node.attr


def _magic(name: ast.Name, tree: ast.AST) -> str | None:
    """What IPython syntax ``get_ipython`` stands for when the transformer wrote it (``%load``,
    ``!command``); None for any other use of the shell."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in MAGIC_CALLS and isinstance(node.func.value, ast.Call)
                and node.func.value.func is name):
            first = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else "?"
            if node.func.attr in ("system", "getoutput"):
                return f"the shell command !{first}"
            return f"%{str(first).lstrip('%')}"
    return None


def _top_level_bindings(statement: ast.stmt) -> set[str]:
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    return {n.id for n in ast.walk(statement)
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))
            and not _inside_function(n, statement)}


def _inside_function(name: ast.Name, statement: ast.stmt) -> bool:
    for node in ast.walk(statement):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            if any(n is name for n in ast.walk(node)):
                return True
    return False
