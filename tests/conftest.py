"""Shared pytest setup: the real-process harness fixtures (tests/harness/fixtures.py)."""
import pytest

from tests.harness.fixtures import admin, editor, mongo_db, mongo_server, nodered_factory  # noqa: F401


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets fixtures see whether the test failed (to keep the logs of its processes).
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
