"""Attacks the router already withstood, kept here so they stay withstood: request smuggling, header
floods and slowloris. (Paths toward a worker's admin API: test_paths.py.) Each must be refused or cut
off by nginx without reaching an instance, and leave every worker in rotation."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from local_stack.raw_client import closed_by_peer, connect, read_reply, send

from .conftest import ErrorLog, assert_every_worker_serves, wait_until

SOURCE = "127.0.0.61"

SMUGGLED = b"GET /red-nodes/files/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
SMUGGLING = {
    "content-length and transfer-encoding": (
        {"Content-Length": str(5 + len(SMUGGLED)), "Transfer-Encoding": "chunked"},
        b"0\r\n\r\n" + SMUGGLED,
    ),
    "two content-lengths": ({"Content-Length": "4", "Content-length": str(4 + len(SMUGGLED))}, b"abcd" + SMUGGLED),
    "obfuscated transfer-encoding": ({"Transfer-Encoding": "chunked, identity"}, b"0\r\n\r\n" + SMUGGLED),
    "transfer-encoding with a space": ({"Transfer-Encoding ": "chunked"}, b"0\r\n\r\n" + SMUGGLED),
}


def paths_answered_correctly(stack, n: int = 30) -> None:
    """Normal requests each get their own answer: no smuggled request desynchronised an upstream
    connection (which would hand one client another request's answer)."""
    with requests.Session() as http:
        http.trust_env = False
        for _ in range(n):
            path = f"/files/{uuid.uuid4().hex}"
            r = http.get(stack.api_url + path, timeout=10)
            assert r.status_code == 200
            assert r.json()["path"] == stack.http_node_root + path


@pytest.mark.parametrize("attempt", sorted(SMUGGLING))
def test_request_smuggling_is_refused(stack, attempt):
    headers, body = SMUGGLING[attempt]
    log = ErrorLog(stack)
    with connect(stack.router.port, SOURCE) as s:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "x", "Content-Type": "text/plain", **headers}.items())
        s.sendall(f"POST /red-nodes/size HTTP/1.1\r\n{head}\r\n".encode() + body)
        reply = read_reply(s)
        assert reply.status in (400, 501), (reply.status, reply.text[:200])
        assert reply.json()["error"] in ("bad request", "transfer encoding not supported")
        # Nothing after the refusal: the smuggled request is never answered.
        assert wait_until(lambda: closed_by_peer(s), 5, "the router to close the connection")
    assert log.upstream_failures() == []
    paths_answered_correctly(stack)


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"X-Big": "a" * 70_000}, "one huge header"),
        ({f"X-H{i}": "b" * 100 for i in range(600)}, "many headers"),
        ({"Cookie": "c=" + "d" * 40_000}, "a huge cookie"),
    ],
)
def test_header_floods_get_400_json_from_the_router(stack, headers, why):
    log = ErrorLog(stack)
    for path in ("/red-nodes/who", "/settings"):
        reply = send(stack.router.port, "GET", path, headers, source=SOURCE)
        assert reply.status == 400, (why, path, reply.status, reply.error)
        assert reply.json()["error"] in ("request headers too large", "bad request"), why
    assert log.upstream_failures() == []
    assert_every_worker_serves(stack)


def test_a_uri_too_long_gets_414_json(stack):
    reply = send(stack.router.port, "GET", "/red-nodes/files/" + "u" * 20_000, source=SOURCE)
    assert reply.status in (400, 414), reply.status
    assert reply.json()["error"] in ("request URI too long", "request headers too large")


def test_slowloris_connections_are_cut_off_and_flows_keep_being_served(stack):
    """200 connections that send their request headers a few bytes at a time: nginx closes each within
    its header timeout (10 s), and normal requests are answered all the while."""
    log = ErrorLog(stack)
    with ThreadPoolExecutor(20) as pool:
        slow = list(pool.map(lambda _: connect(stack.router.port, SOURCE, timeout=30), range(200)))
    try:
        for s in slow:
            s.sendall(b"GET /red-nodes/who HTTP/1.1\r\nHost: x\r\n")
        began = time.monotonic()
        while time.monotonic() - began < 6:
            for s in slow:
                try:
                    s.sendall(b"X-a: b\r\n")
                except OSError:
                    pass  # already cut off
            paths_answered_correctly(stack, n=5)
            time.sleep(1)
        wait_until(lambda: all(closed_by_peer(s) for s in slow), 20, "nginx to close the slow connections")
        assert time.monotonic() - began < 25
    finally:
        for s in slow:
            s.close()
    assert log.upstream_failures() == []
    assert_every_worker_serves(stack)
