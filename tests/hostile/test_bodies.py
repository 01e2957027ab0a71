"""Request bodies over the one limit (stack config bodyLimitMb, default 5 MiB).

Guards: a 6 MB JSON body to a flow endpoint got 500 (Node-RED's 5 MB parser limit surfacing as an
error), nginx let up to 64 MB through to the instances, other body types had no limit at all, and the
limit was documented nowhere. Now: 413 with a JSON body naming the limit, the same at the router and
at every instance."""

from __future__ import annotations

import json

import pytest

from local_stack.raw_client import send, send_chunked

from .conftest import ErrorLog, assert_every_worker_serves

SOURCE = "127.0.0.51"
LIMIT = 5 * 1024 * 1024
TOO_LARGE = {"error": "request body too large", "limit": "5 MiB", "limitBytes": LIMIT}


def json_body(size: int) -> bytes:
    filler = "x" * (size - 12)
    return json.dumps({"filler": filler}, separators=(",", ":")).encode()


def assert_too_large(reply):
    assert reply.status == 413, (reply.status, reply.error, reply.text[:200])
    body = reply.json()
    assert {k: body[k] for k in TOO_LARGE} == TOO_LARGE
    assert body["requestId"]


def test_a_6_mb_json_body_to_a_flow_gets_413_from_the_router(stack):
    log = ErrorLog(stack)
    reply = send(
        stack.router.port,
        "POST",
        "/red-nodes/size",
        {"Content-Type": "application/json", "X-Request-ID": "big-json"},
        json_body(6_000_000),
        source=SOURCE,
    )
    assert_too_large(reply)
    entry = next(
        e
        for e in stack.router.access_log(until=lambda es: any(e["request_id"] == "big-json" for e in es))
        if e["request_id"] == "big-json"
    )
    assert (entry["remote_addr"], entry["status"], entry["upstream_addr"]) == (SOURCE, "413", "")
    assert log.upstream_failures() == []
    assert_every_worker_serves(stack)


def test_a_chunked_body_over_the_limit_gets_413_from_the_router(stack):
    assert_too_large(send_chunked(stack.router.port, "/red-nodes/size", b"y" * 6_000_000, source=SOURCE))


def test_a_body_just_under_the_limit_reaches_the_flow(stack):
    body = json_body(LIMIT - 1024)
    reply = send(stack.router.port, "POST", "/red-nodes/size", {"Content-Type": "application/json"}, body, SOURCE, 30)
    assert reply.status == 200, (reply.status, reply.text[:200])
    assert reply.json()["bytes"] == len(body)


def test_a_deploy_over_the_limit_gets_413_json(stack):
    admin = stack.admin()
    flows = [{"id": "t", "type": "tab", "label": "x" * 6_000_000}]
    reply = send(
        stack.router.port,
        "POST",
        "/flows",
        {**admin.headers(), "Content-Type": "application/json", "Node-RED-Deployment-Type": "full"},
        json.dumps({"flows": flows}).encode(),
        source=SOURCE,
    )
    assert_too_large(reply)


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/octet-stream"])
def test_straight_to_a_worker_a_body_over_the_limit_gets_413_json(stack, content_type):
    """The aws target's ALB has no body limit: the workers apply it, to every content type (Node-RED's
    raw body parser has none of its own)."""
    worker = stack.workers[0]
    body = json_body(6_000_000) if content_type == "application/json" else b"z" * 6_000_000
    assert_too_large(send(worker.port, "POST", "/red-nodes/size", {"Content-Type": content_type}, body, SOURCE, 30))
    assert_too_large(send_chunked(worker.port, "/red-nodes/size", body, source=SOURCE))
    refusals = [line for line in worker.log_text().splitlines() if "refused 413" in line and SOURCE in line]
    assert refusals and all("(request " in line for line in refusals)


def test_straight_to_a_worker_a_chunked_body_under_the_limit_reaches_the_flow(stack):
    worker = stack.workers[0]
    body = b"c" * (LIMIT - 10)
    reply = send_chunked(worker.port, "/red-nodes/size", body, source=SOURCE, chunk=64 * 1024)
    assert reply.status == 200, (reply.status, reply.text[:200])
    assert reply.json() == {"port": worker.port, "bytes": len(body)}
