"""Requests with an Upgrade header, through the router and straight to a worker.

Guards: four `curl --http2` requests (it sends `Upgrade: h2c`) to a flow endpoint were held by
Node-RED for 5 s and dropped; nginx counted each as a worker failure (max_fails) and 34 of the next
40 normal GETs failed with 502 "no live upstreams". Any Upgrade is now answered at once, and no worker
leaves the rotation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from local_stack.raw_client import open_websocket, send, websocket_upgrade_headers

from .conftest import ErrorLog, assert_every_worker_serves

H2C = {"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA"}
SOURCE = "127.0.0.11"


def test_h2c_upgrades_to_a_flow_are_answered_by_the_flow_and_every_worker_stays_in_rotation(stack):
    log = ErrorLog(stack)
    with ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(lambda _: send(stack.router.port, "GET", "/red-nodes/who", H2C, source=SOURCE), range(8))
        )
    assert [r.status for r in replies] == [200] * 8, [(r.status, r.error, r.text[:100]) for r in replies]
    assert all(r.elapsed < 3 for r in replies), [round(r.elapsed, 2) for r in replies]
    assert {r.json()["port"] for r in replies} <= {w.port for w in stack.workers}
    assert log.upstream_failures() == []
    assert_every_worker_serves(stack, rounds=10)


def test_a_websocket_upgrade_to_a_plain_flow_endpoint_gets_404_at_once(stack):
    log = ErrorLog(stack)
    for _ in range(6):
        r = send(stack.router.port, "GET", "/red-nodes/who", websocket_upgrade_headers(), source=SOURCE)
        assert r.status == 404, (r.status, r.error)
        assert r.json()["error"] == "no websocket endpoint at this path"
        assert r.elapsed < 3
    assert log.upstream_failures() == []
    assert_every_worker_serves(stack)


def test_websocket_in_endpoints_still_work_through_the_router(stack):
    ws = open_websocket(stack.router.port, "/red-nodes/ws/echo", source=SOURCE)
    try:
        for text in ("one", "two"):
            ws.send(text)
            assert ws.recv() == text
    finally:
        ws.close()


@pytest.mark.parametrize("path", ["/red-nodes/who", "/red-nodes/nothing-here"])
def test_straight_to_a_worker_an_h2c_upgrade_is_served_as_plain_http(stack, path):
    """The aws target's ALB reaches the workers without nginx: the launcher answers as the router does."""
    worker = stack.workers[0]
    r = send(worker.port, "GET", path, H2C, source=SOURCE)
    assert r.status in (200, 404), (r.status, r.error)
    assert r.elapsed < 3
    if path.endswith("/who"):
        assert r.json() == {"port": worker.port}


def test_straight_to_a_worker_an_h2c_upgrade_with_a_body_gets_400_json(stack):
    worker = stack.workers[0]
    r = send(worker.port, "POST", "/red-nodes/size", {**H2C, "Content-Type": "text/plain"}, b"hello", source=SOURCE)
    assert r.status == 400
    assert "Upgrade" in r.json()["error"] and r.json()["requestId"]


def test_straight_to_a_worker_a_websocket_upgrade_without_an_endpoint_gets_404_json(stack):
    worker = stack.workers[0]
    r = send(worker.port, "GET", "/red-nodes/who", websocket_upgrade_headers(), source=SOURCE)
    assert (r.status, r.json()["error"]) == (404, "no websocket endpoint at this path")
    assert r.elapsed < 3
