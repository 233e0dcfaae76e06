"""Fixtures for the book's tests: one strict build per session, a local server, a browser.

The site is built once, with the same strict command as ``python3 dev.py book`` plus ``--all``
(every page is re-read, so warnings from unchanged pages are reported again; executed
outputs still come from the cache). A build that passed is recorded by a stamp file holding a
hash of everything the site is made from, so later sessions, and the other workers of
``pytest -n``, reuse it instead of building again while nothing has changed (and nothing
else has written into _build/html since).

The browser tests drive Debian's Chromium with Playwright and are skipped where
/usr/bin/chromium is not installed.

Under ``pytest -n`` every test here runs on one worker (``--dist loadgroup``): a second worker
would only wait, minutes, for the first one's build, when it could run other tests meanwhile.
"""
from __future__ import annotations

import hashlib
import http.server
import re
import subprocess
import sys
import threading
from contextlib import contextmanager
from functools import partial
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from booksite import ROOT

BUILD = ROOT / "_build"
HTML = BUILD / "html"
STAMP = HTML / ".strict-build-stamp"
BUILD_COMMAND = ["build", str(ROOT), "--builder", "html", "-W", "-n", "--keep-going", "--all"]
# What the site is made from: its configuration, its pages, the library its pages run, and
# the assignments it offers for download (released by the autograder's release step).
SOURCES = ("_config.yml", "_toc.yml", "pyproject.toml", "book", "course_lib", "assignments",
           "autograder")
# Folders inside SOURCES that are not sources but what a build writes: the student notebooks
# the build releases into book/_generated (hashing them would make the first build of a clean
# clone look out of date to the next xdist worker, which would rebuild the site while the
# browser tests of another worker are reading it).
NOT_SOURCES = {"__pycache__", ".ipynb_checkpoints", "_generated"}
TOOLS = ("jupyter-book", "sphinx", "myst-nb", "sphinx-book-theme", "sphinxcontrib-bibtex",
         "sphinx-mathjax-offline", "numpy", "matplotlib")

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # Sphinx colours its messages

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def sources_digest() -> str:
    digest = hashlib.sha256(" ".join(BUILD_COMMAND[2:]).encode())
    for tool in TOOLS:
        digest.update(f"{tool}=={version(tool)}\n".encode())
    for name in SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(
            p for p in path.rglob("*") if p.is_file()
            and not NOT_SOURCES & set(p.relative_to(ROOT).parts))
        for file in files:
            digest.update(file.relative_to(ROOT).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def stamp_is_current(digest: str) -> bool:
    """True when the last passing strict build was of these sources and nothing has written
    into the site since (another build of edited pages, say)."""
    if not STAMP.is_file() or STAMP.read_text() != digest:
        return False
    stamped = STAMP.stat().st_mtime
    return all(p.stat().st_mtime <= stamped for p in HTML.rglob("*")
               if p.is_file() and p != STAMP)


@contextmanager
def exclusive_lock(path: Path):
    """Hold an exclusive lock on ``path`` (so that xdist workers build one at a time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: builds in parallel workers may collide; run without -n
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups
def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("book"))


@pytest.fixture(scope="session")
def site() -> Path:
    """The strictly built site, _build/html, built now unless a build of the same sources
    already passed."""
    with exclusive_lock(BUILD / ".book-test.lock"):
        wanted = sources_digest()
        if stamp_is_current(wanted):
            return HTML
        STAMP.unlink(missing_ok=True)
        command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
                   *BUILD_COMMAND]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                encoding="utf-8", errors="replace", timeout=1800)
        if result.returncode != 0:
            output = ANSI_ESCAPE.sub("", result.stdout + result.stderr)[-8000:]
            pytest.fail("the strict book build failed (`python3 dev.py book` builds it the "
                        f"same way); the end of its output:\n{output}", pytrace=False)
        STAMP.write_text(wanted)
        return HTML


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the browser closing a connection early is not a test failure


@pytest.fixture(scope="session")
def server(site: Path) -> str:
    """Base URL (ending in /) of the built site, served from a thread on 127.0.0.1."""
    httpd = _QuietServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (Debian's), driven by Playwright; skips where it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: the browser tests of the book need Debian's "
                    "chromium package (apt-get install chromium); they run in CI")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is a test dependency: pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageVisit:
    """A browser tab on the local site that records what went wrong while it was used:
    requests to other hosts (all blocked), console errors, uncaught exceptions, and
    local requests that failed or were answered with an error status."""

    def __init__(self, context, base_url: str):
        self.base = urlsplit(base_url)
        self.blocked: list[str] = []
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        context.route("**/*", self._route)
        self.page = context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        self.page.on("requestfailed", self._request_failed)
        self.page.on("response", lambda r: self.failed.append(f"{r.url} (HTTP {r.status})")
                     if r.status >= 400 else None)

    def _is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc) == (self.base.scheme, self.base.netloc) \
            or parts.scheme in ("data", "blob", "about")

    def _request_failed(self, request):
        # ERR_ABORTED is the browser cancelling a page's pending loads (MathJax fonts, say)
        # because the test navigated on; a missing file shows as an HTTP 404 response instead.
        if self._is_local(request.url) and request.failure != "net::ERR_ABORTED":
            self.failed.append(f"{request.url} ({request.failure})")

    def _route(self, route):
        if self._is_local(route.request.url):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("blockedbyclient")

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append(f"{message.text} at {message.location.get('url')}")

    def problems(self) -> list[str]:
        return ([f"request to another host (blocked): {u}" for u in self.blocked]
                + [f"console error: {e}" for e in self.console_errors]
                + [f"failed local request: {f}" for f in self.failed])


@pytest.fixture
def visit(browser, server):
    """A fresh browser context on the local site; call ``visit()`` to get a ``PageVisit``."""
    contexts = []

    def open_tab() -> PageVisit:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        return PageVisit(context, server)

    yield open_tab
    for context in contexts:
        context.close()
