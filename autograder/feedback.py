"""Per-student feedback HTML that shows what failed and why, and never the hidden tests.

nbgrader's own feedback (``generate_feedback``) renders the autograded notebook, in which
nbgrader has restored every test cell with its hidden tests, and prints each error's full
traceback, whose context lines quote the hidden code. Here ``generate_feedback`` runs with one
more preprocessor, ``SanitizeFeedback``, before the HTML is written:

- the lines between ``BEGIN HIDDEN TESTS`` and ``END HIDDEN TESTS`` become one comment;
- an error output keeps its name and message (``course_lib.testing`` writes messages that
  teach: which quantity, expected versus got, the usual cause) and loses its traceback;
- any output line that contains a line of the source notebook's hidden tests is replaced, so
  a submission that prints its own cell (``In[-1]``) shows nothing of them either;
- a first cell summarizes the grade: status, points per part, and what the pipeline found
  (a renamed notebook, a cell stopped after its time limit, a part refuted by verification).

Lines shorter than ``MIN_PROTECTED`` characters (``else:``, ``)``) are not secret and are not
searched for. A submission the grade step could not run (an empty or corrupt file) gets a
short page saying why. Instructor-only findings (scan flags) are not shown to students.
"""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.course import COURSE_DIR
from autograder.grade import _source_notebook, read_records, state_dir

BEGIN, END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
MIN_PROTECTED = 8
REMOVED = "[a line of the hidden tests was removed here]"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def hidden_lines(source: nbformat.NotebookNode) -> set[str]:
    """The stripped lines of every hidden-test region of ``source``, long enough to matter."""
    lines = set()
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if BEGIN in line:
                inside = True
            elif END in line:
                inside = False
            elif inside and len(line.strip()) >= MIN_PROTECTED:
                lines.add(line.strip())
    return lines


def _without_hidden_region(text: str) -> str:
    kept, inside = [], False
    for line in text.splitlines():
        if BEGIN in line:
            inside = True
            kept.append(line[:len(line) - len(line.lstrip())] + "# (hidden tests)")
        elif END in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def _scrub(text: str, secrets: set[str]) -> str:
    lines = ANSI.sub("", text).split("\n")
    return "\n".join(REMOVED if any(s in line for s in secrets) else line for line in lines)


class SanitizeFeedback(NbGraderPreprocessor):
    """Remove hidden tests (sources, tracebacks, echoed lines) and add the grade summary."""

    source_notebook = Unicode("", help="the instructor's source notebook").tag(config=True)
    records = Unicode("", help="folder of the grade step's records").tag(config=True)

    def preprocess(self, nb, resources):
        secrets = hidden_lines(nbformat.read(self.source_notebook, as_version=4))
        for cell in nb.cells:
            cell.source = _scrub(_without_hidden_region(cell.source), secrets)
            cell.attachments = {}
            if cell.cell_type != "code":
                continue
            for output in cell.outputs:
                if output.output_type == "error":
                    output.ename = _scrub(str(output.ename), secrets)
                    output.evalue = _scrub(str(output.evalue), secrets)
                    output.traceback = [f"{output.ename}: {output.evalue}"]
                elif output.output_type == "stream":
                    output.text = _scrub(output.text, secrets)
                elif "data" in output:
                    for kind, value in list(output.data.items()):
                        if kind.startswith("text/") or kind.endswith(("json", "javascript")):
                            text = value if isinstance(value, str) else json.dumps(value)
                            output.data[kind] = _scrub(text, secrets)
        record = Path(self.records) / f"{resources['nbgrader']['student']}.json"
        if record.exists():
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(
                summary_markdown(json.loads(record.read_text()))))
        return nb, resources


def summary_markdown(record: dict) -> str:
    """The grade summary a student reads first (escaped: names come from the student)."""
    status = record["status"].split(";")[0]
    lines = [f"**Grade: {record['score']:g} / {record['max_score']:g}** "
             f"({html.escape(status)})", ""]
    for grade_id, part in record["parts"].items():
        line = f"- `{html.escape(grade_id)}`: {part['score']:g} / {part['max_score']:g}"
        if part.get("verdict"):
            line += f" (checked again outside your notebook: {html.escape(part['verdict'])})"
        lines.append(line)
    if record["notes"]:
        lines += ["", "Found while grading:", ""]
        lines += [f"- {html.escape(note)}" for note in record["notes"]]
    return "\n".join(lines)


def plain_page(record: dict, notebook: str, message: str) -> str:
    """A page for a submission without a rendered notebook: the grade and ``message``."""
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{html.escape(record['assignment'])}: feedback</title></head><body>\n"
            f"<h1>{html.escape(record['assignment'])}: {html.escape(notebook)}</h1>\n"
            f"<p><strong>Grade: {record['score']:g} / {record['max_score']:g}</strong> "
            f"({html.escape(record['status'].split(';')[0])})</p>\n"
            f"<p>{html.escape(message)}</p>\n</body></html>\n")


def generate(assignment: str, course_dir: Path = COURSE_DIR, *,
             db_url: str | None = None) -> list[Path]:
    """Write ``<course>/feedback/<student>/<assignment>/<notebook>.html`` for every graded
    submission; returns the files written."""
    course_dir = Path(course_dir).resolve()
    source = _source_notebook(course_dir, assignment)
    records = read_records(course_dir, assignment)
    html_name = source.with_suffix(".html").name
    autograded = {s for s in records
                  if (course_dir / "autograded" / s / assignment / source.name).is_file()}
    def target(student: str) -> Path:
        return course_dir / "feedback" / student / assignment / html_name

    for student in autograded:
        target(student).unlink(missing_ok=True)  # nothing stale if nbgrader skips one
    if autograded:
        _nbgrader_feedback(course_dir, assignment, source, db_url)
    for student, record in sorted(records.items()):
        if student not in autograded:
            message = (f"Your submission could not be graded: {record['reason']}. Submit the "
                       f"notebook again as Jupyter saves it (File, Save), named {source.name}.")
        elif not target(student).exists():
            message = "Your notebook was graded, but its feedback page could not be made."
        else:
            continue
        target(student).parent.mkdir(parents=True, exist_ok=True)
        target(student).write_text(plain_page(record, source.name, message), encoding="utf-8")
    return [target(s) for s in sorted(records)]


def _nbgrader_feedback(course_dir: Path, assignment: str, source: Path,
                       db_url: str | None) -> None:
    preprocessors = ["nbgrader.preprocessors.GetGrades", "autograder.feedback.SanitizeFeedback",
                     "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
    args = [sys.executable, "-m", "nbgrader", "generate_feedback", assignment, "--force",
            f"--GenerateFeedback.preprocessors={json.dumps(preprocessors)}",
            f"--SanitizeFeedback.source_notebook={source}",
            f"--SanitizeFeedback.records={state_dir(course_dir, assignment)}"]
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}"
                                f"{os.environ.get('PATH', '')}")
    result = subprocess.run(args, cwd=course_dir, env=env, capture_output=True, text=True,
                            timeout=3600)
    if result.returncode:
        # nbgrader goes on past a student it cannot render; the caller lists who is missing
        print(f"generate_feedback reported errors:\n{result.stdout[-2000:]}{result.stderr[-2000:]}",
              file=sys.stderr)
