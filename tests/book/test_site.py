"""The built site, read as files: every page there, every local link and anchor resolving,
the figures computed, MathJax served locally, and nothing loaded from another host.

These tests need no browser, so they also run where Chromium is not installed.
"""
from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from booksite import load_course_book, toc_pages


class PageIndex(HTMLParser):
    """The anchors a page defines and the links, images and figures it contains."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("id", "name" if tag == "a" else None):
            if name and attrs.get(name):
                self.ids.add(attrs[name])
        if tag == "a" and attrs.get("href") is not None:
            self.links.append(attrs["href"])
        if tag == "img":
            self.images.append(attrs.get("src") or "")


def index_page(path: Path) -> PageIndex:
    parser = PageIndex()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def html_pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def test_every_page_of_the_toc_is_built(site):
    missing = [page for page in toc_pages() if not (site / f"{page}.html").is_file()]
    assert not missing, f"pages listed in _toc.yml but not built: {missing}"


def test_every_built_page_is_in_the_toc(site):
    expected = {f"{page}.html" for page in toc_pages()} | {"index.html", "genindex.html",
                                                           "search.html"}
    built = {p.relative_to(site).as_posix() for p in html_pages(site)}
    assert built - expected == set(), "pages built but missing from _toc.yml"


def test_every_local_link_and_anchor_resolves(site):
    pages = {p: index_page(p) for p in html_pages(site)}
    broken = []
    for page, index in pages.items():
        page_url = page.relative_to(site).as_posix()
        for href in index.links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:  # other hosts, mailto: ... are not ours to check
                continue
            target_url = urlsplit(urljoin(page_url, href))
            target = site / unquote(target_url.path)
            if target_url.path.endswith("/") or target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page_url}: {href} -> no file {target.relative_to(site)}")
            elif parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else index_page(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page_url}: {href} -> no anchor #{parts.fragment}")
    assert not broken, "broken internal links:\n" + "\n".join(broken)
    n_links = sum(len(index.links) for index in pages.values())
    assert n_links > 10 * len(pages), "suspiciously few links: did the crawler read the pages?"


def test_every_image_is_a_file_of_the_site(site):
    missing = []
    for page in html_pages(site):
        for src in index_page(page).images:
            if src.startswith("data:"):
                continue
            target = (page.parent / unquote(urlsplit(src).path)).resolve()
            if urlsplit(src).scheme or not target.is_file():
                missing.append(f"{page.relative_to(site)}: {src}")
    assert not missing, "images that are not files of the site:\n" + "\n".join(missing)


CHAPTERS = [page for page in toc_pages() if page.startswith("book/")
            and page not in ("book/intro", "book/instructors", "book/references")]


def test_every_chapter_shows_figures_computed_at_build_time(site):
    few = {}
    for chapter in CHAPTERS:
        images = index_page(site / f"{chapter}.html").images
        figures = [src for src in images if "_images/" in src and src.endswith(".png")]
        if len(figures) < 2:
            few[chapter] = images
    assert not few, f"chapters with fewer than two matplotlib figures: {few}"


def test_every_chapter_offers_its_assignment_for_download(site):
    """Each chapter links the student version of its assignment, and that download is the
    nbgrader release: a notebook with the graded cells' stubs and no hidden test."""
    missing = []
    for chapter in CHAPTERS:
        page = site / f"{chapter}.html"
        notebooks = [href for href in index_page(page).links
                     if "_downloads/" in href and href.endswith(".ipynb")]
        if not notebooks:
            missing.append(chapter)
            continue
        for href in notebooks:
            text = (page.parent / unquote(urlsplit(href).path)).read_text(encoding="utf-8")
            assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text, href
            assert "NotImplementedError" in text, f"{href} is not a student version"
            json.loads(text)
    assert not missing, f"chapters without a downloadable assignment: {missing}"


def test_mathjax_is_served_by_the_site(site):
    mathjax = site / "_static" / "mathjax"
    assert (mathjax / "tex-chtml.js").is_file()
    assert list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("MathJax_Main-*.woff"))
    assert (mathjax / "input" / "tex" / "extensions" / "ams.js").is_file()
    page = (site / "book" / "activations.html").read_text(encoding="utf-8")
    assert 'src="../_static/mathjax/tex-chtml.js' in page


def test_site_loads_nothing_from_other_hosts(site):
    assert load_course_book().remote_loads(site) == {}


def test_remote_load_detector_flags_each_way_of_loading(tmp_path):
    """The build-time guard must see every kind of remote load, and no plain link."""
    page = """<html><head>
      <script src="https://cdn.example.org/lib.js"></script>
      <link rel="stylesheet" href="//fonts.example.org/css">
      <link rel="preload" as="font" href="https://fonts.example.org/f.woff2">
      <script>const THEBE_JS_URL = "https://unpkg.example.org/thebe.js"</script>
      <style>@import "https://example.org/more.css";</style>
      </head><body>
      <img src="http://example.org/figure.png">
      <iframe src="https://example.org/embed"></iframe>
      <div style="background: url(https://example.org/bg.png)"></div>
      <a href="https://example.org/paper.pdf">a paper</a>
      <link rel="next" href="https://example.org/next.html">
      <script src="_static/local.js"></script>
      <img src="_images/local.png">
      </body></html>"""
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    (tmp_path / "theme.css").write_text("@font-face{src:url('https://example.org/x.woff')}"
                                        "a{background:url(local.png)}", encoding="utf-8")
    found = load_course_book().remote_loads(tmp_path)
    assert set(found) == {"page.html", "theme.css"}
    assert len(found["page.html"]) == 8, found["page.html"]
    assert not any("paper.pdf" in f or "next.html" in f or "local" in f
                   for f in found["page.html"])
    assert found["theme.css"] == ["https://example.org/x.woff"]
