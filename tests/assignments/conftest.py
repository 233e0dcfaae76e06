"""Keep each assignment's tests on one pytest-xdist worker.

The ``graded`` fixture releases and autogrades an assignment once per module and worker; with
xdist's default distribution the tests of one assignment would spread over every worker and
each would grade it again. ``python3 dev.py test`` runs with ``--dist loadgroup``.
"""
import pytest


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "graded" in callspec.params:
            item.add_marker(pytest.mark.xdist_group(callspec.params["graded"]))
