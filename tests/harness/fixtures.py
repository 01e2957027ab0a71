"""pytest fixtures over the harness: one database server per session, a fresh database per test,
and factories for Node-RED instances that are all stopped at teardown."""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest

from .admin import AdminClient
from .mongo import MongoServer
from .nodered import NodeRedInstance

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory):
    """SecantusDB for the whole session (or MONGO_TEST_URL's server)."""
    base = tmp_path_factory.mktemp("mongo")
    server = MongoServer(storage_dir=base / "data", log_path=base / "secantusd.log")
    server.start()
    yield server
    server.close()


@pytest.fixture
def mongo_db(request) -> str:
    """A database name of this test's own, so tests can share one server."""
    name = re.sub(r"[^a-zA-Z0-9]", "_", request.node.name)[:40]
    return f"t_{name}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def nodered_factory(mongo_server, mongo_db, tmp_path, request):
    """make(role, **kw) -> started NodeRedInstance on the test's database; all stopped at teardown.

    Logs of a failed test's instances are copied to test-artifacts/.
    """
    made: list[NodeRedInstance] = []

    def make(role: str, start: bool = True, **kw) -> NodeRedInstance:
        kw.setdefault("mongo_url", mongo_server.url)
        kw.setdefault("db", mongo_db)
        kw.setdefault("user_dir", tmp_path / f"{role}-{len(made)}")
        inst = NodeRedInstance(role, **kw)
        made.append(inst)
        if start:
            inst.start()
        return inst

    yield make
    for inst in made:
        inst.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        dest = ARTIFACTS / request.node.name
        dest.mkdir(parents=True, exist_ok=True)
        for inst in made:
            (dest / f"{inst.instance_id}.log").write_text(inst.log_text())


@pytest.fixture
def editor(nodered_factory):
    inst = nodered_factory("editor")
    inst.wait_ready()
    return inst


@pytest.fixture
def admin(editor):
    client = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    client.login()
    return client
