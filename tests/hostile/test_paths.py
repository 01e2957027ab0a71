"""Path tricks through the router, and what the router tells anyone about the instances.

Guards: `GET <httpNodeRoot>/files/../..` (and %2e%2e forms) was routed by nginx on the normalised path
to the editor, which matched the raw path against its own HTTP-in routes: the editor ran flows for
public traffic. And /healthz, /livez and /red/about told anyone the instance id, revision, state,
database reachability and Node-RED version."""

from __future__ import annotations

import pytest
import requests

from local_stack.raw_client import send

from .conftest import ErrorLog, assert_every_worker_serves

SOURCE = "127.0.0.41"
DOT_PATHS = [
    "/red-nodes/files/../..",
    "/red-nodes/files/../../",
    "/red-nodes/files/%2e%2e/%2E%2E",
    "/red-nodes/files/.%2e/%2e.",
    "/red-nodes/files/..%2f..",
    "/red-nodes/files/..%2F..%2Fsettings",
    "/red-nodes/./who",
    "/red-nodes/files/x/.",
    "/red-nodes/files/../../flows",
    "/x/../red-nodes/who",
    "/red-nodes/files/..?q=1",
]


@pytest.mark.parametrize("path", DOT_PATHS)
def test_a_raw_path_with_dot_segments_is_refused_before_routing(stack, path):
    reply = send(stack.router.port, "GET", path, {"X-Request-ID": f"dots-{DOT_PATHS.index(path)}"}, source=SOURCE)
    assert reply.status == 400, (reply.status, reply.text[:200])
    assert reply.json() == {"error": "path has a dot segment (. or ..)", "requestId": f"dots-{DOT_PATHS.index(path)}"}
    entry = next(
        e
        for e in stack.router.access_log(until=lambda es: any(e["request_id"] == reply.json()["requestId"] for e in es))
        if e["request_id"] == reply.json()["requestId"]
    )
    # Logged once, with the client address, and no instance ever saw it.
    assert (entry["remote_addr"], entry["status"], entry["refusal"]) == (SOURCE, "400", "path has a dot segment")
    assert entry["upstream_addr"] == ""


def test_dots_inside_a_segment_are_no_dot_segments(stack):
    reply = send(stack.router.port, "GET", "/red-nodes/files/a..b/.hidden/x.", source=SOURCE)
    assert reply.status == 200
    assert reply.json()["port"] in {w.port for w in stack.workers}


def test_the_editor_never_answers_a_flow_endpoint(stack):
    """Whatever reaches the editor under httpNodeRoot (straight to its port here) gets 404 JSON: never
    the flow's answer, even for a route its own Node-RED has."""
    assert stack.editor is not None
    for path in ("/red-nodes/who", "/red-nodes/files/../..", "/RED-NODES/who"):
        reply = send(stack.editor.port, "GET", path, source=SOURCE)
        assert (reply.status, reply.json()["error"]) == (404, "the editor serves no flow endpoints"), path


INSTANCE_PATHS = ["/healthz", "/livez", "/metrics", "/HEALTHZ", "/healthz/", "/LiveZ/", "//healthz", "/healthz?x=1"]
DETAIL = ("nodeRedVersion", '"rev"', "latestRev", "dbReachable", '"instance"', '"state"', "4.1", "editor", "worker-")


@pytest.mark.parametrize("path", INSTANCE_PATHS)
def test_the_router_never_shows_instance_detail(stack, path):
    reply = send(stack.router.port, "GET", path, source=SOURCE)
    assert reply.status == 404, (reply.status, reply.text)
    assert reply.json()["router"] == "/_router/healthz"
    assert not [word for word in DETAIL if word in reply.text], reply.text


def test_the_routers_own_health_answer_says_up_and_nothing_else(stack):
    reply = send(stack.router.port, "GET", "/_router/healthz", source=SOURCE)
    assert (reply.status, reply.json()) == (200, {"status": "ok", "role": "router"})


def test_an_instance_reached_through_any_router_answers_health_with_up_or_down_only(stack):
    """Past the router's own rule (a path trick it does not know, or the ALB, which adds
    X-Forwarded-For): the instance itself answers only up or down; on its own port, the detail."""
    assert stack.editor is not None
    for instance in (stack.editor, stack.workers[0]):
        for path in ("/healthz", "/livez"):
            proxied = send(instance.port, "GET", path, {"X-Forwarded-For": "198.51.100.7"}, source=SOURCE)
            assert (proxied.status, proxied.json()) == (200, {"status": "up"})
        assert instance.healthz()["instance"] == instance.instance_id  # own port, no router: detail


def test_node_reds_changelog_is_for_logged_in_editor_users_only(stack):
    """/red/about names the exact Node-RED version; the editor fetches it with its login token."""
    anonymous = send(stack.router.port, "GET", "/red/about", source=SOURCE)
    assert anonymous.status == 401
    assert "Node-RED" not in anonymous.text and "4.1" not in anonymous.text
    admin = stack.admin()
    r = requests.get(stack.url + "/red/about", headers=admin.headers(), timeout=10)
    assert r.status_code == 200 and "####" in r.text


def test_worker_admin_paths_are_not_reachable(stack):
    """Already held: workers have no admin API, and no path reaches the editor's through a worker."""
    log = ErrorLog(stack)
    for path in ("/red-nodes/flows", "/red-nodes/settings", "/red-nodes/auth/token"):
        reply = send(stack.router.port, "GET", path, source=SOURCE)
        assert reply.status == 404, (path, reply.status)
    for w in stack.workers:
        for path in ("/flows", "/settings", "/auth/login", "/red/about"):
            assert send(w.port, "GET", path, source=SOURCE).status == 404, (w.instance_id, path)
    for path in ("/red-nodes/..%2fflows", "/red-nodes/%2e%2e/flows"):
        assert send(stack.router.port, "GET", path, source=SOURCE).status == 400
    assert log.upstream_failures() == []
    assert_every_worker_serves(stack)
