"""Where the book's sources and build live, and what its table of contents lists."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def toc_pages() -> list[str]:
    """The book's pages in reading order, as paths without suffix relative to the root."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def visit(entries):
        for entry in entries or ():
            if "file" in entry:
                pages.append(entry["file"])
            visit(entry.get("sections"))

    for part in toc.get("parts", ()):
        visit(part.get("chapters"))
    visit(toc.get("chapters"))
    return pages


def load_course_book():
    """The book's local Sphinx extension, book/_ext/course_book.py, as a module."""
    spec = importlib.util.spec_from_file_location("course_book",
                                                  ROOT / "book" / "_ext" / "course_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
