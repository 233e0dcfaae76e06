"""The course's autograder, built on nbgrader: release assignments, collect a class's
submissions, grade them in parallel and in isolation, export grades and feedback.

Instructor-only: nothing in this package is copied into the student release.
"""
