"""One stack for the hostile suite: SecantusDB, an editor, 3 workers and nginx running the rendered
router config, with flows that say which instance answered. Every test sends its hostile traffic from
a loopback address of its own (127.0.0.x): nginx's per-client limits and the editor's login lockout
count by address, so one test's attack never limits another test, or the well-behaved traffic every
test checks from 127.0.0.1."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from local_stack import LocalStack
from local_stack.flows import endpoint, tab
from tests.fixtures.stacks import make_stack

# Answers {"port": <the instance's own port>, "bytes": <body size it received>}.
SIZE_FUNC = (
    "const b = msg.req.body;\n"
    "const bytes = Buffer.isBuffer(b) ? b.length : typeof b === 'string' ? Buffer.byteLength(b)"
    " : b === undefined ? 0 : Buffer.byteLength(JSON.stringify(b));\n"
    "msg.payload = {port: msg.req.socket.localPort, bytes};\nreturn msg;"
)
WHO_FUNC = "msg.payload = {port: msg.req.socket.localPort};\nreturn msg;"
# Also the path the request came with: a client that gets another request's answer would see it.
PATH_FUNC = "msg.payload = {port: msg.req.socket.localPort, path: msg.req.originalUrl};\nreturn msg;"


def base_flows() -> list[dict]:
    """GET /who, GET /files/* (any path below), POST /size, and a websocket echo at /ws/echo."""
    flows = [tab("tab-hostile", "hostile")]
    flows += endpoint("tab-hostile", "who", "/who", "get", WHO_FUNC)
    files = endpoint("tab-hostile", "files", "/files/*", "get", PATH_FUNC)
    size = endpoint("tab-hostile", "size", "/size", "post", SIZE_FUNC)
    for i, node in enumerate(files + size):
        node["y"] = 160 + 40 * i
    flows += files + size
    flows += [
        {"id": "ws-listener", "type": "websocket-listener", "path": "/ws/echo", "wholemsg": "false"},
        {"id": "ws-in", "type": "websocket in", "z": "tab-hostile", "server": "ws-listener", "client": "",
         "x": 120, "y": 400, "wires": [["ws-out"]]},
        {"id": "ws-out", "type": "websocket out", "z": "tab-hostile", "server": "ws-listener", "client": "",
         "x": 320, "y": 400, "wires": []},
    ]  # fmt: skip
    return flows


@pytest.fixture(scope="package")
def hostile_stack(request, tmp_path_factory, mongo_server):
    stacks = make_stack(request, tmp_path_factory, "hostile-stack", workers=3, mongo=mongo_server)
    stack = next(stacks)
    try:
        stack.deploy(base_flows())
        yield stack
    finally:
        next(stacks, None)  # stops it (and keeps its logs when a test failed)


@pytest.fixture
def stack(hostile_stack) -> LocalStack:
    """The suite's stack, checked healthy before each test: every worker in rotation."""
    assert_every_worker_serves(hostile_stack)
    return hostile_stack


def assert_every_worker_serves(stack: LocalStack, rounds: int = 4) -> None:
    """Normal GETs through the router all succeed and reach every worker: none was taken out of
    rotation (nginx skips a worker it marked failed, so its port would be missing)."""
    n = rounds * len(stack.workers)
    with requests.Session() as http:
        http.trust_env = False
        replies = [http.get(stack.api_url + "/who", timeout=10) for _ in range(n)]
    statuses = Counter(r.status_code for r in replies)
    assert statuses == {200: n}, f"normal GETs through the router: {dict(statuses)}"
    ports = {r.json()["port"] for r in replies}
    assert ports == {w.port for w in stack.workers}, f"workers that answered: {ports}"


class ErrorLog:
    """What nginx wrote to its error log since this was made: worker failures show there
    ("upstream prematurely closed", "no live upstreams", "upstream timed out")."""

    def __init__(self, stack: LocalStack):
        self.path = Path(stack.router.error_log_path)
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def text(self) -> str:
        if not self.path.exists():
            return ""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")

    def upstream_failures(self) -> list[str]:
        return [line for line in self.text().splitlines() if "upstream" in line]


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
