"""The built site in a real browser, with every request to another host blocked.

Each page must load with no console error and no failed request, render all of its
mathematics with the site's own MathJax, show every image, and link to pages that load;
the next/previous links must walk through the whole book in the order of _toc.yml.
Skipped where /usr/bin/chromium is not installed.
"""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from booksite import toc_pages

PAGES = toc_pages() + ["genindex", "search"]

# Waits for MathJax's first typesetting pass (when the page loads MathJax at all) and for
# every image, then reports what a reader would see.
INSPECT_PAGE = r"""async () => {
  const mathjaxLoaded = !!(window.MathJax && window.MathJax.startup);
  if (mathjaxLoaded) { await window.MathJax.startup.promise; }
  await Promise.all(Array.from(document.images).map(img => img.complete ? null :
      new Promise(resolve => { img.onload = img.onerror = resolve; })));

  const math = Array.from(document.querySelectorAll(".math"));
  const unrendered = math.filter(el => !el.querySelector("mjx-container"))
                         .map(el => el.textContent.slice(0, 80));
  const mathErrors = Array.from(document.querySelectorAll("mjx-merror, [data-mjx-error]"))
                          .map(el => el.getAttribute("data-mjx-error") || el.textContent);

  // Raw TeX left in the prose: delimiters that MathJax should have consumed.
  const article = document.querySelector("article") || document.body;
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight, .cell_output";
  const rawTex = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(skip)) continue;
    if (/\$|\\\(|\\\)|\\\[|\\\]|\\begin\{/.test(node.textContent)) {
      rawTex.push(node.textContent.trim().slice(0, 80));
    }
  }

  const images = Array.from(document.images).map(img => ({
      src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0}));
  const links = sel => Array.from(document.querySelectorAll(sel)).map(a => a.href);
  return {
    mathjaxLoaded, nMath: math.length, unrendered, mathErrors, rawTex,
    nRendered: document.querySelectorAll(".math mjx-container").length,
    images,
    sidebar: links("nav.bd-docs-nav a[href]"),
    next: links("a.right-next"), prev: links("a.left-prev"),
    title: (document.querySelector("article h1") || {}).textContent || "",
  };
}"""


def page_url(server: str, page: str) -> str:
    return urljoin(server, f"{page}.html")


def page_of(server: str, url: str) -> str:
    """The page name ("book/intro") of a URL of the local site."""
    path = urlsplit(url).path
    assert url.startswith(server), f"{url} leaves the local site"
    return path[len(urlsplit(server).path):].removesuffix(".html")


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_offline(visit, server, page):
    tab = visit()
    response = tab.page.goto(page_url(server, page), wait_until="load")
    assert response.ok, f"{page}: HTTP {response.status}"
    seen = tab.page.evaluate(INSPECT_PAGE)

    if page in toc_pages():
        assert seen["title"].strip(), f"{page} has no title"
    assert not seen["unrendered"], f"math not rendered by MathJax: {seen['unrendered']}"
    assert not seen["mathErrors"], f"MathJax errors: {seen['mathErrors']}"
    assert not seen["rawTex"], f"raw TeX left in the text: {seen['rawTex']}"
    if seen["nMath"]:
        assert seen["mathjaxLoaded"] and seen["nRendered"] >= seen["nMath"]
    broken = [img["src"] for img in seen["images"] if not img["ok"]]
    assert not broken, f"images that did not load: {broken}"

    # Every link of the sidebar, and the next/previous links, lead to pages that load.
    targets = {url.split("#")[0] for url in seen["sidebar"] + seen["next"] + seen["prev"]}
    assert {page_url(server, p) for p in toc_pages()} <= targets | {page_url(server, page)}, \
        "the sidebar does not list every page of the book"
    for url in sorted(targets):
        assert tab.page.request.get(url).ok, f"{page} links to {url}, which does not load"
    assert not tab.problems(), "\n".join(tab.problems())


def test_chapter_pages_render_math(visit, server):
    """The activations chapter is full of formulas: they must all come out as MathJax."""
    tab = visit()
    tab.page.goto(page_url(server, "book/activations"), wait_until="load")
    seen = tab.page.evaluate(INSPECT_PAGE)
    assert seen["nMath"] >= 20 and seen["nRendered"] >= seen["nMath"], seen["nMath"]
    figures = [img for img in seen["images"] if "_images/" in img["src"]]
    assert len(figures) >= 2 and all(img["ok"] for img in figures)
    assert not tab.problems(), "\n".join(tab.problems())


def walk(tab, server: str, start: str, link: str) -> list[str]:
    """Click the ``link`` selector from page to page; return the pages visited in order."""
    tab.page.goto(page_url(server, start), wait_until="load")
    visited = [start]
    while tab.page.locator(link).count():
        with tab.page.expect_navigation(wait_until="load"):
            tab.page.locator(link).first.click()
        visited.append(page_of(server, tab.page.url))
        assert tab.page.locator("article h1").count(), f"{visited[-1]} has no title"
        assert len(visited) <= len(PAGES), f"the links go round in circles: {visited}"
    return visited


def test_next_and_previous_links_walk_the_whole_book(visit, server):
    pages = toc_pages()
    tab = visit()
    assert walk(tab, server, pages[0], "a.right-next") == pages
    assert walk(tab, server, pages[-1], "a.left-prev") == pages[::-1]
    assert not tab.problems(), "\n".join(tab.problems())


def test_sidebar_links_open_their_pages(visit, server):
    """Click each entry of the sidebar, as a reader would, and land on that page."""
    pages = toc_pages()
    tab = visit()
    for i, page in enumerate(pages):
        tab.page.goto(page_url(server, pages[i - 1]), wait_until="load")  # start elsewhere
        entries = [a for a in tab.page.locator("nav.bd-docs-nav a[href]").all()
                   if a.evaluate("a => a.href") == page_url(server, page)]
        assert entries, f"the sidebar of {pages[i - 1]} has no entry for {page}"
        with tab.page.expect_navigation(wait_until="load"):
            entries[0].click()
        assert page_of(server, tab.page.url) == page
        assert tab.page.locator("article h1").count()
    assert not tab.problems(), "\n".join(tab.problems())


def test_index_page_redirects_to_the_book(visit, server):
    tab = visit()
    tab.page.goto(server, wait_until="load")
    tab.page.wait_for_url(page_url(server, toc_pages()[0]))
    assert not tab.problems(), "\n".join(tab.problems())
