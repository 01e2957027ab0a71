"""Shared pytest setup: fixtures over the local stack's processes (tests/fixtures/), for every folder."""

import pytest
import requests

from local_stack import find_nginx
from tests.ci import missing_tool
from tests.fixtures.instances import admin, editor, mongo_db, mongo_server, nodered_factory, own_mongo  # noqa: F401
from tests.fixtures.run_once import run_once_cluster  # noqa: F401
from tests.fixtures.stacks import own_mongo_stack, own_stack, shared_stack  # noqa: F401


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    path = find_nginx()
    if path is None:
        missing_tool("nginx is not installed (apt-get install nginx)")
    return path


@pytest.fixture
def http():
    """HTTP client for loopback: no proxy from the environment."""
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets fixtures see whether the test failed (to keep the logs of its processes).
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)
