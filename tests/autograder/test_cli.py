"""The instructor's command line."""
import json
import subprocess
import sys

from autograder.__main__ import main


def test_release_writes_student_versions(tmp_path, capsys):
    assert main(["release", "02-activations", "--output", str(tmp_path)]) == 0
    notebook = tmp_path / "02-activations" / "activations.ipynb"
    assert str(notebook) in capsys.readouterr().out
    cells = json.loads(notebook.read_text())["cells"]
    text = "".join("".join(c["source"]) for c in cells)
    assert "raise NotImplementedError()" in text and "BEGIN SOLUTION" not in text


def test_unknown_assignment_is_named(tmp_path, capsys):
    assert main(["release", "99-nothing", "--output", str(tmp_path)]) == 2
    assert "unknown assignment(s) 99-nothing" in capsys.readouterr().err


def test_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "autograder", "--help"], capture_output=True,
                            text=True)
    assert result.returncode == 0 and "release" in result.stdout
