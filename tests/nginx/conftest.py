import pytest

from local_stack import StubUpstream


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
