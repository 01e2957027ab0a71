"""pytest fixtures for whole-stack tests (tests/e2e and tests/browser import them in their conftest)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.harness.mongo import MongoServer
from tests.harness.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def _keep_logs_if_failed(request, stack: LocalStack, failed_before: int, name: str) -> None:
    if request.session.testsfailed > failed_before:
        dest = ARTIFACTS / name
        dest.mkdir(parents=True, exist_ok=True)
        for log in [*stack.base_dir.glob("*.log"), *stack.base_dir.glob("router/*.log"),
                    stack.base_dir / "router" / "nginx.conf"]:
            if log.is_file():
                shutil.copy(log, dest / log.name.replace("/", "_"))


def make_stack(request, tmp_path_factory, name: str, **kw):
    base = tmp_path_factory.mktemp(name)
    stack = LocalStack(base_dir=base, **kw)
    failed_before = request.session.testsfailed
    stack.start()
    try:
        yield stack
    finally:
        _keep_logs_if_failed(request, stack, failed_before, name)
        stack.close()


@pytest.fixture(scope="session")
def shared_stack(request, tmp_path_factory, mongo_server):
    """Editor + 3 workers + router on the session's database server, for tests that leave it healthy."""
    yield from make_stack(request, tmp_path_factory, "shared-stack", workers=3, mongo=mongo_server)


@pytest.fixture(scope="module")
def own_stack(request, tmp_path_factory, mongo_server):
    """A stack of the module's own (3 workers) for tests that kill or restart parts of it."""
    yield from make_stack(request, tmp_path_factory, f"stack-{request.module.__name__.rsplit('.', 1)[-1]}",
                          workers=3, mongo=mongo_server)


@pytest.fixture(scope="module")
def own_mongo_stack(request, tmp_path_factory):
    """A stack with its own SecantusDB, which the test may restart (also when MONGO_TEST_URL is set)."""
    name = f"stack-{request.module.__name__.rsplit('.', 1)[-1]}"
    base = tmp_path_factory.mktemp(f"{name}-mongo")
    mongo = MongoServer(storage_dir=base / "data", log_path=base / "secantusd.log", use_test_url=False)
    mongo.start()
    try:
        yield from make_stack(request, tmp_path_factory, name, workers=3, mongo=mongo)
    finally:
        mongo.close()