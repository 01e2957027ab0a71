"""The editor's websocket (/comms) through the router, from clients that never log in.

Guards: unauthenticated /comms sockets were kept open for up to an hour (50 of 50 idle ones still open
after 45 s), and about 4,300 of them exhausted nginx's connections: no flow request got through until
they closed. Now they are closed within 10 s, one address gets at most a few, and flows are served
throughout."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import websocket

from local_stack.raw_client import (
    closed_by_peer,
    connect,
    open_websocket,
    read_reply,
    request_bytes,
    websocket_upgrade_headers,
)

from .conftest import ErrorLog, assert_every_worker_serves, wait_until

AUTH_TIMEOUT = 10  # the launcher's limit for a socket to authenticate


def upgrade(port: int, source: str):
    """A /comms websocket handshake that then sends nothing: (socket, status)."""
    s = connect(port, source)
    s.sendall(request_bytes("GET", "/comms", websocket_upgrade_headers()))
    return s, read_reply(s, timeout=10)


def assert_logs_in(stack, source: str) -> None:
    """An editor websocket from `source` logs in with the admin's token."""
    ws = open_websocket(stack.router.port, "/comms", source=source)
    try:
        ws.send(json.dumps({"auth": stack.admin().token}))
        assert json.loads(ws.recv()) == {"auth": "ok"}
    finally:
        ws.close()


def test_unauthenticated_editor_websockets_are_closed_within_10_s_and_logged_ones_stay(stack):
    source = "127.0.0.21"
    admin = stack.admin()
    authed = open_websocket(stack.router.port, "/comms", source="127.0.0.22")
    authed.send(json.dumps({"auth": admin.token}))
    assert json.loads(authed.recv()) == {"auth": "ok"}

    opened = time.monotonic()
    idle = [upgrade(stack.router.port, source) for _ in range(10)]
    assert [reply.status for _, reply in idle] == [101] * 10
    sockets = [s for s, _ in idle]
    try:
        wait_until(lambda: all(closed_by_peer(s) for s in sockets), AUTH_TIMEOUT + 5, "the idle sockets to be closed")
        took = time.monotonic() - opened
        assert took >= AUTH_TIMEOUT - 1, f"closed after {took:.1f} s: before the client had its 10 s"
        # The logged-in editor keeps its socket: the editor still answers a ping on it.
        authed.ping("still there?")
        while True:
            opcode, frame = authed.recv_data_frame(True)
            if opcode == websocket.ABNF.OPCODE_PONG:
                break
        assert frame.data == b"still there?"
    finally:
        for s in sockets:
            s.close()
        authed.close()
    editor_log = stack.editor.log_text() if stack.editor else ""
    closed = [line for line in editor_log.splitlines() if "not authenticated within 10 s" in line and source in line]
    assert len(closed) == 10, "each closed socket is logged once, with the client address"


def test_one_address_cannot_tie_up_the_router_with_editor_websockets(stack):
    """300 handshakes from one address: a few get sockets, the rest 429 JSON at once; flows and another
    address's editor are served meanwhile."""
    source = "127.0.0.23"
    log = ErrorLog(stack)
    with ThreadPoolExecutor(30) as pool:
        attempts = list(pool.map(lambda _: upgrade(stack.router.port, source), range(300)))
    try:
        statuses = [reply.status for _, reply in attempts]
        upgraded = statuses.count(101)
        assert 1 <= upgraded <= 10, f"{upgraded} sockets from one address"
        assert statuses.count(429) == 300 - upgraded, {s: statuses.count(s) for s in set(statuses)}
        # Refused by the router's per-client limits, or by the editor's cap on sockets waiting to log in.
        reasons = {reply.json()["error"] for _, reply in attempts if reply.status == 429}
        assert "too many requests or connections from this address" in reasons
        assert reasons <= {
            "too many requests or connections from this address",
            "too many editor websockets waiting to authenticate from this address",
        }

        assert_every_worker_serves(stack, rounds=10)
        admin = stack.admin()
        assert_logs_in(stack, "127.0.0.24")
        r = requests.get(stack.url + "/settings", headers=admin.headers(), timeout=10)
        assert r.status_code == 200
    finally:
        for s, _ in attempts:
            s.close()
    assert log.upstream_failures() == []


def test_editor_websockets_waiting_to_log_in_are_capped_per_address_without_the_router(stack):
    """Straight to the editor (the aws target has no nginx): more than 10 sockets waiting to log in from
    one address get 429 from the editor itself."""
    assert stack.editor is not None
    source = "127.0.0.25"
    attempts = [upgrade(stack.editor.port, source) for _ in range(14)]
    try:
        statuses = [reply.status for _, reply in attempts]
        assert statuses == [101] * 10 + [429] * 4, statuses
        assert "waiting to authenticate" in attempts[-1][1].json()["error"]
    finally:
        for s, _ in attempts:
            s.close()
    # Closed sockets no longer count.
    s, reply = wait_until(lambda: _upgraded(stack.editor.port, source), 5, "a socket from the address again")
    s.close()


def _upgraded(port, source):
    s, reply = upgrade(port, source)
    if reply.status == 101:
        return s, reply
    s.close()
    return None


def test_a_comms_message_node_red_chokes_on_closes_that_socket_and_nothing_else(stack):
    """The websocket message `null`, before any login, threw in Node-RED's comms handler where nothing
    caught it: the editor process exited. Now only that socket is closed, and the error logged."""
    assert stack.editor is not None
    source = "127.0.0.26"
    ws = open_websocket(stack.router.port, "/comms", source=source)
    try:
        ws.send("null")
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            ws.recv()  # the editor drops the connection
    finally:
        ws.close()
    assert stack.editor.running()
    assert requests.get(stack.editor.url + "/livez", timeout=5).status_code == 200
    assert_logs_in(stack, "127.0.0.27")
    lines = [line for line in stack.editor.log_text().splitlines() if f"from {source} " in line]
    assert any("uncaught exception in GET /comms" in line for line in lines), lines
