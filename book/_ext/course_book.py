"""The book's own Sphinx extension: a self-contained site, and honest cached outputs.

A reader must be able to open the built book with no internet connection, so:

* MathJax 3 is served by the site itself. Its files come from the ``sphinx-mathjax-offline``
  package on PyPI (a course dependency), and are copied into ``_static/mathjax`` at the end of
  every HTML build, so no megabytes of JavaScript are kept in git. ``_config.yml`` points
  ``mathjax_path`` at the copy.
* After the build, every HTML page and stylesheet is scanned for scripts, styles, fonts,
  images or frames loaded from another host. Each one found is a build warning, which the
  strict build (``-W``) turns into an error: a theme or extension update that starts pulling
  from a CDN fails the build instead of quietly breaking the offline site.
* Matplotlib's font cache is built in the Sphinx process before any page executes, so that
  its one-time "building the font cache" notice is not printed to a cell's stderr (which the
  book's configuration treats as an error).

Each chapter links to its assignment: the student versions are generated with nbgrader (by
``autograder.course.release``, the instructor's own release step) into ``book/_generated/``,
which git ignores and Sphinx does not parse, so a page can offer them with
``{download}`notebook <_generated/02-activations/activations.ipynb>```.

Pages execute at build time and their outputs are cached (``execute_notebooks: cache``), but
the cache only knows the pages' own code. A page's figures and numbers also depend on
``course_lib``, the figure style and the numerical libraries, so the cache lives in a folder
named after a hash of all of those: change ``course_lib`` and every page runs again (and a
broken ``course_lib`` fails the build) instead of showing yesterday's outputs.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from html.parser import HTMLParser
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging
from sphinx.util.osutil import copyfile

logger = logging.getLogger(__name__)

MATHJAX_PACKAGE = "sphinx-mathjax-offline"
# Inside the package's static/mathjax folder: the combined TeX-to-CommonHTML bundle the pages
# load, and the pieces it fetches on demand (TeX extensions through autoload, the web fonts,
# the contextual menu and its accessibility tools). The other combined bundles and the SVG
# output are not used.
MATHJAX_PARTS = ("tex-chtml.js", "input", "output/chtml", "ui", "a11y", "sre")

# What executed pages read besides their own code (paths relative to the book's root), and the
# libraries whose versions change their outputs.
EXECUTION_INPUTS = ("course_lib/**/*.py", "book/_static/*.mplstyle")
EXECUTION_LIBRARIES = ("numpy", "matplotlib", "scikit-learn")

# Attributes through which a page makes the browser load something by itself. Plain links
# (<a href>) are not loads: a reader may follow them, and references cite papers online.
_LOADING_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "audio": ("src",),
    "video": ("src", "poster"),
    "embed": ("src",),
    "object": ("data",),
}
_LOADING_LINK_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut",
                      "apple-touch-icon", "manifest", "prefetch", "preconnect",
                      "dns-prefetch"}
_REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
_SCRIPT_REMOTE = re.compile(r"""["'`]((?:https?:)?//[^"'`\s]+)""", re.IGNORECASE)
_CSS_REMOTE = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:https?:)?//[^'")\s]+)""",
                         re.IGNORECASE)


def mathjax_source() -> Path:
    """The folder of MathJax files installed by the ``sphinx-mathjax-offline`` package."""
    try:
        package = distribution(MATHJAX_PACKAGE)
    except PackageNotFoundError:
        raise RuntimeError(f"the book serves MathJax from the {MATHJAX_PACKAGE!r} package, "
                           "which is not installed: run `python3 dev.py book`, or "
                           "`pip install -e .` in the repository") from None
    folder = Path(package.locate_file("sphinx-mathjax-offline/static/mathjax"))
    if not (folder / MATHJAX_PARTS[0]).is_file():
        raise RuntimeError(f"no {MATHJAX_PARTS[0]} in {folder}: the {MATHJAX_PACKAGE!r} "
                           "package's layout changed")
    return folder


def copy_mathjax(outdir: Path) -> None:
    source = mathjax_source()
    target = outdir / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        path = source / part
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            destination = target / file.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            copyfile(file, destination)  # a no-op when the copy is already up to date


class _RemoteLoads(HTMLParser):
    """Collects the URLs on other hosts that an HTML page would load by itself."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        names = _LOADING_ATTRIBUTES.get(tag, ())
        if tag == "link" and _LOADING_LINK_RELS & set((attrs.get("rel") or "").lower().split()):
            names = ("href",)
        for name in names:
            for url in (attrs.get(name) or "").split(","):
                if _REMOTE.match(url):
                    self.found.append(f"<{tag} {name}={url.strip()!r}>")
        if "style" in attrs:
            self.found += [f"<{tag} style> {u}" for u in _CSS_REMOTE.findall(attrs["style"])]

    def handle_data(self, data):
        if self.lasttag == "style":
            self.found += [f"<style> {u}" for u in _CSS_REMOTE.findall(data)]
        elif self.lasttag == "script":
            # An inline script that names a URL on another host is there to load it
            # (sphinx-thebe, for one, keeps its CDN address in such a script).
            self.found += [f"<script> {u}" for u in _SCRIPT_REMOTE.findall(data)]


def remote_loads(outdir: Path) -> dict[str, list[str]]:
    """For every HTML page and CSS file in ``outdir`` that loads something from another host,
    the list of what it loads, keyed by the file's path relative to ``outdir``."""
    problems = {}
    for file in sorted(outdir.rglob("*")):
        if file.suffix == ".html":
            parser = _RemoteLoads()
            parser.feed(file.read_text(encoding="utf-8"))
            found = parser.found
        elif file.suffix == ".css":
            found = _CSS_REMOTE.findall(file.read_text(encoding="utf-8", errors="replace"))
        else:
            continue
        if found:
            problems[file.relative_to(outdir).as_posix()] = found
    return problems


def execution_inputs_digest(root: Path) -> str:
    """A hash of everything besides a page's code that its executed outputs depend on."""
    digest = hashlib.sha256()
    for library in EXECUTION_LIBRARIES:
        digest.update(f"{library}=={version(library)}\n".encode())
    for pattern in EXECUTION_INPUTS:
        for file in sorted(root.glob(pattern)):
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def configure(app: Sphinx, config: Config) -> None:
    if _REMOTE.match(config.mathjax_path or ""):
        logger.warning("mathjax_path %r loads MathJax from another host; the book must serve "
                       "it itself (mathjax/tex-chtml.js)", config.mathjax_path,
                       type="course_book")
    if not config.nb_execution_cache_path:
        # The path is an "env" setting: when it changes, Sphinx re-reads (so re-runs) every page.
        caches = Path(app.outdir).parent / ".jupyter_cache"
        current = caches / execution_inputs_digest(Path(app.srcdir))
        for stale in caches.glob("*"):  # caches of earlier versions of the inputs
            if stale != current and re.fullmatch(r"[0-9a-f]{16}", stale.name):
                shutil.rmtree(stale)
        config.nb_execution_cache_path = str(current)


def release_assignments(app: Sphinx, config: Config) -> None:
    from autograder.course import release

    root = Path(app.srcdir)
    release(root / "book" / "_generated", course_dir=root / "assignments")


def warm_matplotlib_font_cache(app: Sphinx) -> None:
    import matplotlib.font_manager  # noqa: F401  (importing it builds the cache if missing)


def finish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    copy_mathjax(outdir)
    for page, loads in remote_loads(outdir).items():
        logger.warning("%s loads from another host, which an offline reader cannot reach: %s",
                       page, "; ".join(loads), type="course_book")


def setup(app: Sphinx) -> dict:
    # The pages' kernels inherit this: their networks are small, and OpenBLAS threads that
    # compete for the cores with anything else running make small products far slower.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    app.connect("config-inited", configure)
    app.connect("config-inited", release_assignments)
    app.connect("builder-inited", warm_matplotlib_font_cache)
    app.connect("build-finished", finish)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
