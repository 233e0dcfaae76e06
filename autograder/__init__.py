"""The course's autograder, built on nbgrader: release assignments, collect a class's
submissions, grade them in parallel and in isolation, export grades and feedback.

Instructor-only: nothing in this package is copied into the student release.
"""
import sys

# jsonschema, which nbformat imports (so every nbgrader command and every grading process),
# imports rfc3987_syntax when it is installed (jupyter-events asks for it), and that module
# builds a Lark parser as it is imported: 2.2 s of CPU per process on the course's machines
# (python-jsonschema/jsonschema#1428). It serves only the "iri" string formats, which neither
# nbformat's nor nbgrader's schemas use; marked absent, it makes jsonschema skip those two.
sys.modules.setdefault("rfc3987_syntax", None)
