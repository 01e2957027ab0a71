"""The cluster API (docs/cluster.md) against hostile and careless requests through the router, from an
address of its own: path tricks, revision numbers that are no revision numbers, repeated and unknown
query parameters, wrong methods, malformed and oversized bodies, with and without a login. Each gets
a clear status and a JSON reason, nothing is saved, and the stack serves on.

Guards: a new admin path on the editor that a request could make throw, hang, answer HTML or act on a
value it did not check (a rollback of revision "1/.." or 1e3)."""

from __future__ import annotations

import json

import pytest
import requests

from local_stack.admin import AdminClient
from local_stack.raw_client import send

SOURCE = "127.0.0.81"


@pytest.fixture(scope="module")
def token(hostile_stack) -> str:
    client = AdminClient(hostile_stack.url, hostile_stack.editor_user, hostile_stack.editor_password)
    return client.login()


def call(stack, method: str, path: str, token: str | None = None, body: bytes = b"", content_type: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type:
        headers["Content-Type"] = content_type
    return send(stack.router.port, method, path, headers, body, source=SOURCE)


def reason(reply, status: int) -> str:
    assert reply.status == status, (reply.status, reply.text[:300])
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    return reply.json()["error"]


def newest(stack, token: str):
    return requests.get(stack.url + "/cluster/status", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()[
        "newestRev"
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/cluster/revisions/1%2f..",
        "/cluster/revisions/1%2F..%2Fstatus",
        "/cluster/revisions/..%2f..%2fflows",
        "/cluster/../cluster/status",
        "/cluster/revisions/%2e%2e",
    ],
)
def test_path_tricks_never_reach_a_handler(stack, token, path):
    """Dot segments, also percent-encoded, are the router's to refuse (400); what passes is no revision."""
    reply = call(stack, "GET", path, token)
    assert reply.status == 400 and reply.json()["error"], (reply.status, reply.text[:200])


@pytest.mark.parametrize(
    "rev",
    ["0", "-1", "01", "1.0", "1e3", "0x10", "abc", "%20", "1%2F2", "99999999999999999999", "9007199254740993", "1%20"],
)
def test_a_revision_in_the_path_that_is_no_revision_number_is_400(stack, token, rev):
    assert "must be a revision number" in reason(call(stack, "GET", f"/cluster/revisions/{rev}", token), 400)


@pytest.mark.parametrize(
    "query",
    [
        "from=1",
        "from=1&to=2&to=3",
        "from[]=1&to=2",
        "from[a]=1&to=2",
        "from=1&to=2&x=1",
        "from=1e3&to=2",
        "from=&to=2",
    ],
)
def test_a_malformed_diff_query_is_400(stack, token, query):
    assert reason(call(stack, "GET", f"/cluster/diff?{query}", token), 400)


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "limit=-1", "staleAfter=0", "staleAfter=abc", "x=1"])
def test_a_malformed_revisions_query_is_400(stack, token, query):
    assert reason(call(stack, "GET", f"/cluster/revisions?{query}", token), 400)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/cluster/status", "GET"),
        ("DELETE", "/cluster/revisions/1", "GET"),
        ("GET", "/cluster/rollback", "POST"),
        ("PUT", "/cluster/rollback", "POST"),
    ],
)
def test_a_wrong_method_is_405_naming_the_allowed_one(stack, token, method, path, allow):
    reply = call(stack, method, path, token, b"{}", "application/json")
    assert "not allowed" in reason(reply, 405)
    assert reply.headers["allow"] == allow


@pytest.mark.parametrize("path", ["/cluster", "/cluster/", "/cluster/statuses", "/cluster/status/", "/cluster/STATUS"])
def test_an_unknown_cluster_path_is_404_after_login_and_401_before(stack, token, path):
    assert "no such cluster API path" in reason(call(stack, "GET", path, token), 404)
    assert "log in first" in reason(call(stack, "GET", path), 401)


@pytest.mark.parametrize(
    "body",
    [b'{"rev":', b"null", b'"1"', b'{"rev": true}', b'{"rev": null}', b'{"rev": [1]}', b'{"rev": {"$gt": 0}}'],
)
def test_a_malformed_rollback_body_is_400_and_nothing_is_saved(stack, token, body):
    before = newest(stack, token)
    assert reason(call(stack, "POST", "/cluster/rollback", token, body, "application/json"), 400)
    assert newest(stack, token) == before


def test_an_oversized_rollback_body_is_refused_by_the_router(stack, token):
    body = json.dumps({"rev": 1, "pad": "x" * (stack.body_limit_mb * 1024 * 1024 + 1)}).encode()
    reply = call(stack, "POST", "/cluster/rollback", token, body, "application/json")
    assert reply.status == 413, (reply.status, reply.text[:200])


def test_an_unauthenticated_rollback_is_401_whatever_its_body(stack, token):
    before = newest(stack, token)
    for body in (b'{"rev": 1}', b"{}", b""):
        assert "log in first" in reason(call(stack, "POST", "/cluster/rollback", None, body, "application/json"), 401)
    # A body that is no JSON is refused by the admin API's parser before any login is looked at.
    assert reason(call(stack, "POST", "/cluster/rollback", None, b'{"rev":', "application/json"), 400)
    assert newest(stack, token) == before
