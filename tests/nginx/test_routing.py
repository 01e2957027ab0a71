"""A real nginx running the rendered config in front of stub workers and a stub editor."""

import json
import re
import socket
from collections import Counter
from http.client import HTTPConnection

import pytest
import requests
import websocket

from local_stack import LocalRouter, StubUpstream
from nginx.render import HEALTH_PATH

WORKERS = 3


@pytest.fixture(scope="module")
def stack(nginx_bin):
    workers = [StubUpstream(f"worker{i}") for i in range(1, WORKERS + 1)]
    editor = StubUpstream("editor")
    router = LocalRouter([w.address for w in workers], editor.address, nginx_bin=nginx_bin).start()
    yield router, workers, editor
    router.close()
    for stub in [*workers, editor]:
        stub.stop()


def test_node_root_is_spread_round_robin_over_every_worker(stack, http):
    router, workers, editor = stack
    before = len(editor.seen)
    answered = Counter(http.get(f"{router.url}/red-nodes/hello").json()["id"] for _ in range(10 * WORKERS))
    assert answered == {w.name: 10 for w in workers}
    assert len(editor.seen) == before


@pytest.mark.parametrize(
    "path", ["/red-nodes", "/red-nodes/", "/red-nodes/a/b?x=1&y=%20z", "/red-nodes/flows", "/Red-Nodes/x"]
)
def test_node_root_and_paths_below_go_to_workers_unchanged(stack, http, path):
    router, workers, _ = stack
    reply = http.get(router.url + path)
    assert reply.status_code == 200
    assert reply.json()["id"].startswith("worker")
    assert reply.json()["path"] == path


@pytest.mark.parametrize(
    "path", ["/", "/flows", "/settings", "/red/main.js", "/auth/login", "/red-nodesX", "/red-nodes-x/y", "/healthzx"]
)
def test_everything_else_goes_to_the_editor(stack, http, path):
    router, _, _ = stack
    reply = http.get(router.url + path)
    assert reply.json()["id"] == "editor"
    assert reply.json()["path"] == path


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/metrics", "/Metrics/", "//livez", "/HEALTHZ?x"])
def test_instance_detail_paths_are_answered_404_by_nginx_never_proxied(stack, path):
    router, workers, editor = stack
    seen = sum(len(s.seen) for s in [*workers, editor])
    reply = requests.get(router.url + path, timeout=5)
    assert reply.status_code == 404
    assert reply.json()["router"] == HEALTH_PATH
    assert sum(len(s.seen) for s in [*workers, editor]) == seen


@pytest.mark.parametrize(
    "path", ["/red-nodes/a/../b", "/red-nodes/%2e%2e/flows", "/red-nodes/.%2E/x", "/a/./b", "/x/.."]
)
def test_raw_paths_with_dot_segments_are_refused_before_routing(stack, path):
    router, workers, editor = stack
    seen = sum(len(s.seen) for s in [*workers, editor])
    with socket.create_connection(("127.0.0.1", router.port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert json.loads(body)["error"] == "path has a dot segment (. or ..)"
    assert sum(len(s.seen) for s in [*workers, editor]) == seen


def test_only_a_websocket_upgrade_is_passed_on(stack, http):
    """Any other Upgrade (curl --http2 sends h2c) reaches the workers as a plain request."""
    router, workers, _ = stack
    reply = http.get(router.url + "/red-nodes/h2c", headers={"Upgrade": "h2c", "Connection": "Upgrade, HTTP2-Settings"})
    assert reply.status_code == 200
    headers = reply.json()["headers"]
    assert "upgrade" not in headers and headers.get("connection", "") == ""


def test_a_malformed_request_id_is_replaced(stack, http):
    router, _, _ = stack
    headers = http.get(router.url + "/flows", headers={"X-Request-ID": 'a"b c'}).json()["headers"]
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


def test_router_health_is_answered_by_nginx_itself(stack, http):
    router, workers, editor = stack
    seen = sum(len(s.seen) for s in [*workers, editor])
    reply = http.get(router.url + HEALTH_PATH)
    assert reply.status_code == 200
    assert reply.json()["status"] == "ok"
    assert sum(len(s.seen) for s in [*workers, editor]) == seen


def test_forwarded_headers_reach_the_upstream(stack, http):
    router, _, _ = stack
    headers = http.get(
        router.url + "/red-nodes/h",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Request-ID": "req-42", "X-Nodered-Router": "other"},
    ).json()["headers"]
    assert headers["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == f"127.0.0.1:{router.port}"
    assert headers["host"] == f"127.0.0.1:{router.port}"
    assert headers["x-request-id"] == "req-42"
    # Set by the router itself: the launcher closes instead of answering 503 only for a router that resends.
    assert headers["x-nodered-router"] == "nginx"


def test_a_request_id_is_made_up_when_the_client_sends_none(stack, http):
    router, _, _ = stack
    headers = http.get(router.url + "/flows").json()["headers"]
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])


def test_upstream_connections_are_kept_alive(stack, http):
    router, workers, editor = stack
    before = len(editor.seen)
    for _ in range(40):
        reply = http.get(router.url + "/settings")
        assert reply.json()["headers"].get("connection", "") == ""
    seen = editor.seen[before:]
    assert len(seen) == 40
    # One connection per nginx worker process at most, not one per request.
    assert len({s.client for s in seen}) <= 4


def test_editor_comms_websocket_is_upgraded(stack):
    router, _, editor = stack
    ws = websocket.create_connection(f"ws://127.0.0.1:{router.port}/comms", timeout=5)
    try:
        ws.send("hello")
        assert ws.recv() == "editor:hello"
    finally:
        ws.close()
    upgrade = [s for s in editor.seen if s.path == "/comms" and s.status == 101]
    assert upgrade and upgrade[-1].headers["connection"].lower() == "upgrade"
    assert upgrade[-1].headers["upgrade"].lower() == "websocket"


def test_websockets_under_the_node_root_reach_a_worker(stack):
    router, _, _ = stack
    ws = websocket.create_connection(f"ws://127.0.0.1:{router.port}/red-nodes/ws/feed", timeout=5)
    try:
        ws.send("hi")
        assert re.fullmatch(r"worker\d:hi", ws.recv())
    finally:
        ws.close()


def test_a_flow_deploy_up_to_the_body_limit_reaches_the_editor(stack, http):
    router, _, _ = stack
    body = b"[" + b'{"id":"n","type":"function","func":"' + b"x" * ((5 << 20) - 64) + b'"}]'
    reply = http.post(router.url + "/flows", data=body, headers={"Content-Type": "application/json"})
    assert reply.status_code == 200
    assert reply.json()["body_length"] == len(body)


@pytest.mark.parametrize("path", ["/flows", "/red-nodes/x"])
def test_a_body_over_the_limit_is_refused_before_reaching_upstream(stack, path):
    router, workers, editor = stack
    before = sum(len(s.seen) for s in [*workers, editor])
    conn = HTTPConnection("127.0.0.1", router.port, timeout=5)
    try:
        conn.putrequest("POST", path)
        conn.putheader("Content-Length", str((5 << 20) + 1))
        conn.endheaders()
        reply = conn.getresponse()
        assert reply.status == 413
        body = json.loads(reply.read())
        assert {k: body[k] for k in ("error", "limit", "limitBytes")} == {
            "error": "request body too large",
            "limit": "5 MiB",
            "limitBytes": 5 << 20,
        }
    finally:
        conn.close()
    assert sum(len(s.seen) for s in [*workers, editor]) == before


def test_the_body_limit_is_a_render_parameter(nginx_bin, make_stubs):
    workers = make_stubs(1)
    editor = make_stubs(1, "editor")[0]
    with LocalRouter([w.address for w in workers], editor.address, nginx_bin=nginx_bin, body_limit_mb=1) as router:
        small = requests.post(router.url + "/red-nodes/x", data=b"s" * (1 << 20), timeout=10)
        big = requests.post(router.url + "/red-nodes/x", data=b"b" * ((1 << 20) + 1), timeout=10)
    assert small.status_code == 200 and small.json()["body_length"] == 1 << 20
    assert big.status_code == 413
    assert (big.json()["limit"], big.json()["limitBytes"]) == ("1 MiB", 1 << 20)
    assert len(workers[0].seen) == 1


def test_access_log_is_json_naming_the_worker_that_answered(stack, http):
    router, workers, _ = stack
    reply = http.get(router.url + "/red-nodes/logged", headers={"X-Request-ID": "log-me"})
    worker = next(w for w in workers if w.name == reply.json()["id"])
    logged = router.access_log(until=lambda entries: any(e["request_id"] == "log-me" for e in entries))
    entry = next(e for e in reversed(logged) if e["request_id"] == "log-me")
    assert entry["method"] == "GET"
    assert entry["uri"] == "/red-nodes/logged"
    assert entry["status"] == "200"
    assert entry["upstream_addr"] == worker.address
    assert entry["upstream_status"] == "200"
    assert isinstance(entry["request_time"], float)


def test_ten_workers_all_get_traffic(nginx_bin, make_stubs, http):
    workers = make_stubs(10)
    editor = make_stubs(1, "editor")[0]
    with LocalRouter([w.address for w in workers], editor.address, nginx_bin=nginx_bin) as router:
        answered = Counter(http.get(f"{router.url}/red-nodes/x").json()["id"] for _ in range(30))
    assert answered == {w.name: 3 for w in workers}


def test_a_custom_node_root_routes_only_its_own_paths(nginx_bin, make_stubs, http):
    workers = make_stubs(2)
    editor = make_stubs(1, "editor")[0]
    with LocalRouter([w.address for w in workers], editor.address, "/api/v1.2", nginx_bin=nginx_bin) as router:

        def who(path):
            return http.get(router.url + path).json()["id"]

        assert who("/api/v1.2/orders").startswith("worker")
        assert who("/api/v1.2").startswith("worker")
        assert who("/api/v1x2/orders") == editor.name
        assert who("/api/v1.2x") == editor.name
        assert who("/api") == editor.name
        assert who("/red-nodes/x") == editor.name


def test_access_log_stays_json_for_odd_requests(stack):
    router, _, _ = stack
    raw = [
        b'GET /red-nodes/q?x="\\ HTTP/1.1\r\nHost: h\r\nUser-Agent: odd "agent" \\ \xc3\xa9\r\nConnection: close\r\n\r\n',
        b"NOT-HTTP\r\n\r\n",
        b"GET /\r\n",  # HTTP/0.9
    ]
    for request in raw:
        with socket.create_connection(("127.0.0.1", router.port), timeout=5) as s:
            s.sendall(request)
            while s.recv(65536):
                pass

    def odd_and_bad(entries):  # every line parses as JSON
        return any(e["user_agent"].startswith('odd "agent" \\') for e in entries) and any(
            e["status"] == "400" for e in entries
        )

    assert odd_and_bad(router.access_log(until=odd_and_bad))


def test_update_returns_once_new_connections_reach_only_the_new_worker_set(nginx_bin, make_stubs):
    """A scale-down takes a worker out of the router before stopping it: once update() returns, no new
    request may reach the removed worker, or stopping it next would fail that request."""
    workers = make_stubs(3)
    editor = make_stubs(1, "editor")[0]
    with LocalRouter([w.address for w in workers[:2]], editor.address, nginx_bin=nginx_bin) as router:
        router.update([workers[1].address, workers[2].address])
        before = len(workers[0].seen)
        # A new connection per request, as a client that has none open yet.
        answered = Counter(requests.get(f"{router.url}/red-nodes/x", timeout=5).json()["id"] for _ in range(20))
    assert answered == {"worker2": 10, "worker3": 10}
    assert len(workers[0].seen) == before
