"""Verification specs, one module per assignment (instructor-only: never released).

``<name>_<number>.py`` for the assignment folder ``<number>-<name>`` declares:

    SETUP       the grade_ids of the locked cells to run before the student's code
    REFERENCES  the course_lib modules that implement what the assignment asks for; the
                verification child cannot read them
    parts(rng)  grade_id of each graded test cell -> the calls (``verify.call``) that confirm
                it, with inputs drawn from ``rng`` (seeded in secret by the grader)
"""
