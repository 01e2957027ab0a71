"""The cluster API's flows from files (POST /cluster/deploy, POST /cluster/diff; docs/flows-as-code.md)
against hostile and careless requests through the router, from an address of its own: no login, a
read-only login, bodies that are no JSON or of another shape, unknown fields, ids used twice, wires to
nowhere, credential values, oversized bodies. Each gets a clear status and a JSON reason naming the
nodes, nothing is saved, and the stack serves on.

Guards: a deploy endpoint that saves flows Node-RED would not run as written (an id twice, a wire to a node
that does not exist), takes a credential value into a revision through files, or lets a read-only login
deploy."""

from __future__ import annotations

import json

import pytest
import requests

from local_stack.admin import AdminClient
from local_stack.raw_client import send

from .conftest import base_flows

SOURCE = "127.0.0.82"


@pytest.fixture(scope="module")
def tokens(hostile_stack) -> dict[str, str]:
    login = {
        "base_url": hostile_stack.url,
        "user": hostile_stack.editor_user,
        "password": hostile_stack.editor_password,
    }
    return {"all": AdminClient(**login).login(), "read": AdminClient(**login, scope="read").login()}


def call(stack, path: str, token: str | None, body: bytes, content_type: str | None = "application/json"):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type:
        headers["Content-Type"] = content_type
    return send(stack.router.port, "POST", path, headers, body, source=SOURCE)


def newest(stack, token: str) -> int:
    r = requests.get(stack.url + "/cluster/status", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return r.json()["newestRev"]


def flows_with(*extra: dict) -> list[dict]:
    return [*base_flows(), *extra]


def refused(reply, status: int) -> dict:
    assert reply.status == status, (reply.status, reply.text[:300])
    assert reply.headers["content-type"].startswith("application/json"), reply.headers
    return reply.json()


@pytest.mark.parametrize("path", ["/cluster/deploy", "/cluster/diff"])
def test_without_a_login_it_is_401_whatever_the_body(hostile_stack, tokens, path):
    before = newest(hostile_stack, tokens["all"])
    for body in (json.dumps({"flows": base_flows()}).encode(), b"{}", b""):
        assert "log in first" in refused(call(hostile_stack, path, None, body), 401)["error"]
    assert newest(hostile_stack, tokens["all"]) == before


def test_a_read_only_login_may_compare_but_not_deploy(hostile_stack, tokens):
    before = newest(hostile_stack, tokens["all"])
    body = json.dumps({"flows": flows_with({"id": "extra", "type": "debug", "z": "tab-hostile", "wires": []})}).encode()
    assert (
        "cluster.write permission is needed"
        in refused(call(hostile_stack, "/cluster/deploy", tokens["read"], body), 403)["error"]
    )
    d = refused(call(hostile_stack, "/cluster/diff", tokens["read"], body), 200)
    assert (d["same"], d["summary"]) == (False, "tabs ~1, nodes +1")
    assert newest(hostile_stack, tokens["all"]) == before


HOSTILE_BODIES = [
    (b"null", "is not valid JSON", []),  # the admin API's parser takes objects and arrays only
    (b"[]", "the body must be a JSON object", []),
    (b'"flows"', "is not valid JSON", []),
    (b'{"flows": {}}', "flows must be an array of nodes", []),
    (b'{"flows": [], "rev": 1}', 'unknown field "rev"', []),
    (b'{"flows": [], "dryRun": true}', 'unknown field "dryRun"', []),
    (json.dumps({"flows": flows_with({"id": "who-in", "type": "debug", "z": "tab-hostile"})}), 'node id "who-in" is used twice', ["who-in"]),
    (json.dumps({"flows": flows_with({"id": "x", "type": "debug", "z": "tab-hostile", "wires": [["nowhere"]]})}), 'wired to "nowhere", which does not exist', ["x"]),
    (json.dumps({"flows": flows_with({"id": "x", "type": "debug", "z": "tab-hostile", "wires": [[{"$gt": ""}]]})}), "wires that are no list of lists of node ids", ["x"]),
    (json.dumps({"flows": flows_with({"id": "x", "type": "debug", "z": "no-such-tab"})}), 'sits on z "no-such-tab"', ["x"]),
    (json.dumps({"flows": flows_with({"id": {"$ne": 1}, "type": "debug"})}), "has no id", []),
    (json.dumps({"flows": flows_with({"id": "x", "type": "debug", "credentials": {"password": "p"}})}), "carries credentials", ["x"]),
    (json.dumps({"flows": base_flows(), "credentials": {"who-fn": {"password": "hunter2"}}}), 'must be "stored" or an environment reference', ["who-fn"]),
    (json.dumps({"flows": base_flows(), "credentials": {"gone": {"password": "stored"}}}), 'node "gone", which is not in the flows', ["gone"]),
    (json.dumps({"flows": base_flows(), "credentials": []}), "credentials must be an object", []),
    (json.dumps({"flows": flows_with({"id": "x", "type": "no-such-node-type", "z": "tab-hostile"})}), 'node types this image does not have: "no-such-node-type"', ["x"]),
    (json.dumps({"flows": flows_with({"id": "x", "type": "debug", "z": "tab-hostile", "\ud800": 1})}), "lone UTF-16 surrogate", []),
    (json.dumps({"flows": base_flows(), "message": "a\nb"}), "message must be one line", []),
    (json.dumps({"flows": base_flows(), "message": "m" * 1001}), "message must be one line", []),
]  # fmt: skip


@pytest.mark.parametrize(("body", "says", "nodes"), HOSTILE_BODIES, ids=[b[1][:40] for b in HOSTILE_BODIES])
def test_a_malformed_or_hostile_body_is_400_naming_the_nodes_and_nothing_is_saved(
    hostile_stack, tokens, body, says, nodes
):
    before = newest(hostile_stack, tokens["all"])
    data = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
    for path in ("/cluster/deploy", "/cluster/diff"):
        if path == "/cluster/diff" and "message" in says:
            continue  # a diff takes no message
        answer = refused(call(hostile_stack, path, tokens["all"], data), 400)
        assert says in answer["error"], answer
        assert answer.get("nodes", []) == nodes
    assert newest(hostile_stack, tokens["all"]) == before
    assert requests.get(hostile_stack.api_url + "/who", timeout=10).status_code == 200


def test_a_body_that_is_no_json_or_not_sent_as_json_is_refused(hostile_stack, tokens):
    for path in ("/cluster/deploy", "/cluster/diff"):
        assert refused(call(hostile_stack, path, tokens["all"], b'{"flows": ['), 400)["error"]
        assert (
            "send a JSON body"
            in refused(call(hostile_stack, path, tokens["all"], b"flows=1", "text/plain"), 415)["error"]
        )
        assert refused(call(hostile_stack, path + "?dryRun=1", tokens["all"], b'{"flows": []}'), 400)["error"]


def test_an_oversized_body_is_refused_by_the_router(hostile_stack, tokens):
    pad = "x" * (hostile_stack.body_limit_mb * 1024 * 1024 + 1)
    body = json.dumps({"flows": flows_with({"id": "big", "type": "comment", "z": "tab-hostile", "info": pad})}).encode()
    for path in ("/cluster/deploy", "/cluster/diff"):
        reply = call(hostile_stack, path, tokens["all"], body)
        assert reply.status == 413, (reply.status, reply.text[:200])


def test_the_flows_it_runs_are_no_change(hostile_stack, tokens):
    """Deploying what the stack runs saves nothing (200, saved false), however often it is sent."""
    before = newest(hostile_stack, tokens["all"])
    answer = refused(
        call(hostile_stack, "/cluster/deploy", tokens["all"], json.dumps({"flows": base_flows()}).encode()), 200
    )
    assert (answer["saved"], answer["rev"], answer["same"]) == (False, before, True)
    assert newest(hostile_stack, tokens["all"]) == before
