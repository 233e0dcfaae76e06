"""Submissions that the hidden tests must grade right, one module per assignment.

Each module defines ``BUGGY``: name -> (cells, lost) where ``cells`` maps solution grade_ids to
a student's code with a realistic mistake and ``lost`` is the set of test cells that must score
0 (every other part keeps full marks); and ``CORRECT``: name -> cells, answers written
differently from the instructor's (loops, another stable formula) that must get full marks.
Cells not given are filled with the instructor's solution.
"""


def combine(mistakes: dict, groups) -> dict:
    """``BUGGY`` entries that each hold several ``mistakes`` (name -> (cells, lost)), one per
    group, named "a + b": parts are graded independently, so one submission with mistakes in
    different parts checks what one submission per mistake would, for a fraction of the
    kernel runs, and also proves that a bug in one part costs no other."""
    buggy = {}
    for names in groups:
        cells, lost = {}, set()
        for name in names:
            more, parts = mistakes[name]
            assert not cells.keys() & more.keys() and not lost & parts, \
                f"{names}: two mistakes in one function or part"
            cells, lost = cells | more, lost | parts
        buggy[" + ".join(names)] = (cells, lost)
    return buggy
