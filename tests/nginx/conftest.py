import pytest
import requests

from tests.ci import missing_tool
from tests.nginx.nginx_process import find_nginx
from tests.nginx.stubs import StubUpstream


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


@pytest.fixture
def make_stubs():
    """make_stubs(n, prefix) -> n running StubUpstreams, stopped after the test."""
    made: list[StubUpstream] = []

    def make(n: int, prefix: str = "worker") -> list[StubUpstream]:
        stubs = [StubUpstream(f"{prefix}{i}") for i in range(1, n + 1)]
        made.extend(stubs)
        return stubs

    yield make
    for stub in made:
        stub.stop()
