"""Verification specs, one module per assignment (instructor-only: never released).

``<name>_<number>.py`` for the assignment folder ``<number>-<name>`` declares:

    SETUP       the grade_ids of the locked cells to run before the student's code
    REFERENCES  the course_lib modules that implement what the assignment asks for; the
                verification child cannot read them
    parts(rng)  grade_id of each graded test cell -> the calls that confirm it, with inputs
                drawn from ``rng`` (seeded in secret by the grader): ``verify.call`` for a
                function of arrays, ``verify.probe`` for objects driven through several steps
                (an optimizer, a layer in train and eval mode) by a probe function of the spec

Where a reference cannot be hidden (the setup imports it), the calls that the hidden tests'
check_not_calling watches take ``watch=("course_lib.<module>", ...)``: the notebook's code
must not run those modules' functions during the call. A watched probe runs what the hidden
tests do not watch (a constructor) through ``unwatched(f)``, imported from verify (the child
has its own, which pauses the watch). A probe that puts reference code in place of the
notebook's functions does it as the hidden tests do, ``with substitute(ns, name=f, ...)``
(course_lib.testing's, imported from verify), which restores them and keeps the watch off
the substitutes.

A probe reaches the child as its source text, run with ``np``, ``unwatched`` and
``substitute`` only: module functions that several probes use are named in ``PROBE_HELPERS``
(their sources are run first), instead of being copied into each probe.

A spec checks what the hidden tests check, on fresh inputs: tests/autograder/test_verify_specs.py
holds it to agreeing with them on every known mistake and correct alternative.
"""
