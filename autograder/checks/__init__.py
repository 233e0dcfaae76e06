"""Verification specs, one module per assignment (instructor-only: never released).

``<name>_<number>.py`` for the assignment folder ``<number>-<name>`` declares:

    SETUP       the grade_ids of the locked cells to run before the student's code
    REFERENCES  the course_lib modules that implement what the assignment asks for; the
                verification child cannot read them
    parts(rng)  grade_id of each graded test cell -> the calls that confirm it, with inputs
                drawn from ``rng`` (seeded in secret by the grader): ``verify.call`` for a
                function of arrays, ``verify.probe`` for objects driven through several steps
                (an optimizer, a layer in train and eval mode) by a probe function of the spec

A spec checks what the hidden tests check, on fresh inputs: tests/autograder/test_verify_specs.py
holds it to agreeing with them on every known mistake and correct alternative.
"""
