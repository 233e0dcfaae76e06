"""autograder.feedback: what failed and why, and never a line of the hidden tests, even from
submissions that print their own cell or force a verbose traceback through the tests."""
from __future__ import annotations

import html
import json

import pytest

from autograder import feedback

from . import submissions as subs
from .submissions import ASSIGNMENT, NOTEBOOK


@pytest.fixture(scope="module")
def generated():
    course, records = subs.small_batch()
    files = feedback.generate(ASSIGNMENT, course)
    return course, records, {f.parts[-3]: f.read_text() for f in files}


def test_every_graded_submission_has_a_page(generated):
    _, records, pages = generated
    assert sorted(pages) == sorted(records)


def test_no_line_of_any_hidden_test_in_any_feedback(generated):
    course, _, pages = generated
    secrets = feedback.hidden_lines(subs.source_notebook(course))
    assert len(secrets) > 50
    # nbgrader's autograded notebooks hold them (so the sanitizer is what keeps them out)
    autograded = (course / "autograded" / "echoes_tests" / ASSIGNMENT / NOTEBOOK).read_text()
    assert sum(json.dumps(s)[1:-1] in autograded for s in secrets) > 50
    leaks = {(student, s) for student, page in pages.items() for s in secrets
             if s in page or html.escape(s) in page or html.escape(s, quote=False) in page}
    assert not leaks


def test_the_echoing_submission_shows_that_lines_were_removed(generated):
    pages = generated[2]
    assert feedback.REMOVED in pages["echoes_tests"]
    assert "SystemExit: stopped here" in pages["verbose_traceback"]


def test_failures_say_what_failed_and_why(generated):
    _, records, pages = generated
    naive = pages["naive_sigmoid"]
    assert "Grade: 11 / 16" in naive
    assert "sigmoid emitted a warning" in naive  # course_lib.testing's message
    assert "this cell was stopped: still running after the 10 s limit per cell" in html.unescape(
        pages["infinite_loop"])
    assert "Grade: 16 / 16" in pages["correct"]


def test_ungradable_submissions_get_a_page_with_the_reason(generated):
    pages = generated[2]
    assert "could not be graded: empty file (0 bytes)" in pages["empty"]
    assert "not valid JSON" in pages["not_json"]


def test_summary_escapes_what_the_student_controls():
    record = {"status": "graded", "score": 1, "max_score": 2, "notes": ["renamed notebook: "
              "<script>x</script>.ipynb graded as a.ipynb"],
              "parts": {"p": {"score": 1, "max_score": 2, "verdict": "<b>"}}}
    text = feedback.summary_markdown(record)
    assert "<script>" not in text and "<b>" not in text and "&lt;script&gt;" in text
