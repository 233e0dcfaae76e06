"""Submissions that the hidden tests must grade right, one module per assignment.

Each module defines ``BUGGY``: name -> (cells, lost) where ``cells`` maps solution grade_ids to
a student's code with a realistic mistake and ``lost`` is the set of test cells that must score
0 (every other part keeps full marks); and ``CORRECT``: name -> cells, answers written
differently from the instructor's (loops, another stable formula) that must get full marks.
Cells not given are filled with the instructor's solution.
"""
