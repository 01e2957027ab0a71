"""Roles, /livez and /healthz, refusing bad environments, keep-alive, graceful stop."""

import http.client
import os
import signal
import threading
import time

import pytest
import requests

from local_stack import AdminClient, LocalRouter, free_port
from local_stack.flows import endpoint, marker_flow, tab, wait_marker


def test_worker_has_no_admin_api_and_nothing_it_receives_changes_the_flows(nodered_factory, mongo_server, mongo_db):
    editor = nodered_factory("editor")
    worker = nodered_factory("worker")
    editor.wait_ready()
    rev = AdminClient(editor.url, editor.editor_user, editor.editor_password).deploy(marker_flow("kept"))
    worker.wait_ready(rev=rev)
    flows = mongo_server.client()[mongo_db].flows
    before = list(flows.find())

    assert requests.get(worker.url + "/flows", timeout=5).status_code == 404
    assert (
        requests.post(
            worker.url + "/flows",
            json={"flows": marker_flow("evil")},
            timeout=5,
            headers={"Node-RED-Deployment-Type": "full"},
        ).status_code
        == 404
    )
    assert (
        requests.post(
            worker.url + "/auth/token",
            timeout=5,
            data={
                "client_id": "node-red-admin",
                "grant_type": "password",
                "scope": "*",
                "username": "admin",
                "password": editor.editor_password,
            },
        ).status_code
        == 404
    )
    assert requests.get(worker.url + "/", timeout=5).status_code == 404, "no editor on a worker"

    assert list(flows.find()) == before
    assert requests.get(worker.node_url + "/marker", timeout=5).json()["marker"] == "kept"


def test_editor_requires_login(editor):
    assert requests.get(editor.url + "/flows", timeout=5).status_code == 401
    bad = AdminClient(editor.url, editor.editor_user, "wrong-password")
    with pytest.raises(requests.HTTPError):
        bad.login()


def test_healthz_reports_role_revision_and_readiness(nodered_factory, mongo_server, mongo_db):
    editor = nodered_factory("editor", instance_id="ed-health")
    worker = nodered_factory("worker", instance_id="wk-health")
    e = editor.wait_ready()
    w = worker.wait_ready()
    assert (e["role"], e["instance"], e["rev"], e["latestRev"], e["state"]) == ("editor", "ed-health", 0, 0, "running")
    assert (w["role"], w["instance"], w["ready"]) == ("worker", "wk-health", True)
    # Liveness: no login needed on the editor either (orchestrators probe it without credentials).
    for inst, role, instance in ((editor, "editor", "ed-health"), (worker, "worker", "wk-health")):
        r = requests.get(inst.url + "/livez", timeout=5)
        assert (r.status_code, r.json()) == (
            200,
            {"live": True, "role": role, "instance": instance, "shuttingDown": False},
        )

    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    rev = admin.deploy(marker_flow("good"))
    assert worker.wait_ready(rev=rev)["rev"] == rev

    # A revision whose flows cannot start (a node type this image lacks): the editor refuses to deploy
    # it; written to the database all the same, the worker keeps serving the revision before, ready.
    broken = marker_flow("broken") + [{"id": "x1", "type": "no-such-node-type", "z": "tab-marker", "wires": []}]
    with pytest.raises(requests.HTTPError) as refused:
        admin.deploy(broken)
    assert refused.value.response.status_code == 400
    bad_rev = rev + 1
    mongo_server.client()[mongo_db].flows.insert_one({"_id": bad_rev, "rev": bad_rev, "flows": broken})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        h = worker.healthz()
        if h["latestRev"] == bad_rev and h["failed"] and h["state"] == "running":
            break
        time.sleep(0.1)
    assert (h["rev"], h["latestRev"], h["state"], h["status_code"], h["ready"]) == (rev, bad_rev, "running", 200, True)
    assert h["message"] == f"serving revision {rev}, revision {bad_rev} failed: missing node types: no-such-node-type"
    assert "could not start: missing node types" in worker.log_text()
    wait_marker(worker.node_url, "good")
    # Live all along: an orchestrator must not restart it (or the editor) over flows that cannot start.
    for inst in (worker, editor):
        assert requests.get(inst.url + "/livez", timeout=5).status_code == 200

    # A good deploy after it: ready again.
    good_rev = admin.deploy(marker_flow("fixed"))
    worker.wait_ready(rev=good_rev, timeout=20)
    wait_marker(worker.node_url, "fixed")

    # Status records in MongoDB say the same.
    recs = {r["_id"]: r for r in mongo_server.client()[mongo_db].instances.find()}
    assert recs["wk-health"]["role"] == "worker" and recs["ed-health"]["role"] == "editor"


def test_worker_not_serving_yet_is_closed_for_the_router_and_answers_503_to_others(nodered_factory):
    """Before its flows first start (here: no database to load them from) a worker has no routes. The
    router (it sends X-Nodered-Router: nginx) resends a request whose connection closed without an
    answer, so idempotent requests from it get exactly that; its POSTs (never resent) wait up to the hold
    limit (10 s) for the flows and then get 503 + Retry-After, as direct clients do at once. Never a 404."""
    worker = nodered_factory("worker", mongo_url=f"mongodb://127.0.0.1:{free_port()}/")
    deadline = time.monotonic() + 20
    while "waiting for MongoDB" not in worker.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker.healthz()["status_code"] == 503
    live = requests.get(worker.url + "/livez", timeout=5)
    assert (live.status_code, live.json()["live"]) == (200, True), "not ready, yet live: no restart"
    url = worker.node_url + "/marker"
    router = {"X-Nodered-Router": "nginx"}

    with requests.Session() as direct:  # a kept-alive connection stays usable after the 503s
        for _ in range(2):
            r = direct.get(url, timeout=5)
            assert (r.status_code, r.headers.get("Retry-After")) == (503, "1")
    for method in ("GET", "HEAD", "PUT", "DELETE"):
        with pytest.raises(requests.ConnectionError):
            requests.request(method, url, headers=router, timeout=5)
    began = time.monotonic()
    r = requests.post(url, headers=router, json={}, timeout=30)
    assert (r.status_code, r.headers.get("Retry-After")) == (503, "1")
    assert time.monotonic() - began >= 9, "held for the flows first"


def test_the_router_sends_requests_for_a_worker_not_serving_yet_to_one_that_is(nodered_factory):
    """The real router in front: GETs the starting worker closes are answered by the other worker; a
    POST (never resent) waits for the starting worker's flows and, as they never start here, gets its
    503 + Retry-After, not a 502."""
    editor = nodered_factory("editor")
    ready = nodered_factory("worker")
    starting = nodered_factory("worker", mongo_url=f"mongodb://127.0.0.1:{free_port()}/")
    editor.wait_ready()
    rev = AdminClient(editor.url, editor.editor_user, editor.editor_password).deploy(marker_flow("served"))
    ready.wait_ready(rev=rev)
    deadline = time.monotonic() + 20
    while "waiting for MongoDB" not in starting.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    both = [f"127.0.0.1:{starting.port}", f"127.0.0.1:{ready.port}"]
    with LocalRouter(both, f"127.0.0.1:{editor.port}") as router, requests.Session() as http:
        replies = [http.get(router.url + "/red-nodes/marker", timeout=10) for _ in range(10)]
        assert [(r.status_code, r.json()["marker"]) for r in replies] == [(200, "served")] * 10
        logged = router.access_log(until=lambda entries: len(entries) >= len(replies))
        tried = [e for e in logged if e["upstream_addr"].startswith(both[0])]
        assert tried and all(e["upstream_status"] == "502, 200" for e in tried), "the starting worker was tried"
    with LocalRouter(both[:1], f"127.0.0.1:{editor.port}") as router:
        r = requests.post(router.url + "/red-nodes/marker", json={}, timeout=30)
        assert (r.status_code, r.headers.get("Retry-After")) == (503, "1")


@pytest.mark.parametrize(
    "role,env,message",
    [
        ("worker", {"NODE_RED_CREDENTIAL_SECRET": None}, "NODE_RED_CREDENTIAL_SECRET is required"),
        ("editor", {"NODE_RED_CREDENTIAL_SECRET": None}, "NODE_RED_CREDENTIAL_SECRET is required"),
        ("janitor", {}, "NODE_RED_ROLE must be"),
        (
            "editor",
            {"NODE_RED_EDITOR_PASSWORD": None},
            "NODE_RED_EDITOR_PASSWORD or NODE_RED_EDITOR_PASSWORD_HASH is required",
        ),
        ("worker", {"NODE_RED_HTTP_NODE_ROOT": "/"}, "NODE_RED_HTTP_NODE_ROOT must start with"),
        ("worker", {"NODE_RED_HTTP_NODE_ROOT": "api"}, "NODE_RED_HTTP_NODE_ROOT must start with"),
        ("worker", {"MONGO_URL": None}, "MONGO_URL is required"),
        ("worker", {"NODE_RED_KEEPALIVE_SECONDS": "4"}, "NODE_RED_KEEPALIVE_SECONDS must be from 5 to 86400"),
        ("editor", {"NODE_RED_KEEPALIVE_SECONDS": "65s"}, "NODE_RED_KEEPALIVE_SECONDS must be a positive integer"),
    ],
)
def test_bad_environment_refuses_to_start_with_a_message(nodered_factory, role, env, message):
    kw = {}
    if "NODE_RED_CREDENTIAL_SECRET" in env:
        kw["credential_secret"] = None
    if "NODE_RED_EDITOR_PASSWORD" in env:
        kw["editor_password"] = None
    if "MONGO_URL" in env:
        kw["mongo_url"] = ""
    # Values the contract refuses go around local_stack's own checks, straight into the environment.
    raw = {k: v for k, v in env.items() if k in ("NODE_RED_HTTP_NODE_ROOT", "NODE_RED_KEEPALIVE_SECONDS")}
    if role not in ("editor", "worker"):
        raw["NODE_RED_ROLE"], role = role, "worker"
    if raw:
        kw["extra_env"] = raw
    inst = nodered_factory(role, **kw)
    code = inst.wait_exit(timeout=30)
    assert code != 0
    assert "refusing to start" in inst.log_text() and message in inst.log_text()


def test_idle_keepalive_connections_stay_open_for_NODE_RED_KEEPALIVE_SECONDS(nodered_factory):
    """Node's own default closes idle connections after 5 s, before a load balancer does (an ALB keeps
    them 120 s by default) and the balancer's next request on one fails with a 502."""
    default = nodered_factory("worker")
    short = nodered_factory("worker", extra_env={"NODE_RED_KEEPALIVE_SECONDS": "5"})
    conns = {}
    for inst in (default, short):
        inst.wait_ready()
        conns[inst] = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=5)
        conns[inst].request("GET", "/healthz")
        assert conns[inst].getresponse().read()
    time.sleep(7)
    conns[default].request("GET", "/healthz")
    assert conns[default].getresponse().status == 200, "the idle connection was kept (default 65 s)"
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conns[short].request("GET", "/healthz")
        conns[short].getresponse()
    for conn in conns.values():
        conn.close()


def test_sigterm_stops_gracefully_and_removes_the_status_record(nodered_factory, mongo_server, mongo_db):
    worker = nodered_factory("worker", instance_id="wk-stop")
    worker.wait_ready()
    instances = mongo_server.client()[mongo_db].instances
    assert instances.count_documents({"_id": "wk-stop"}) == 1
    assert worker.stop() == 0
    assert "SIGTERM received" in worker.log_text() and "stopped" in worker.log_text()
    assert instances.count_documents({"_id": "wk-stop"}) == 0


def test_while_stopping_livez_fails_and_endpoints_turn_requests_away(nodered_factory):
    """SIGTERM: requests inside the flows are answered first (the drain); meanwhile the instance is no
    longer live, and new requests get 503 + Connection: close (direct) or a closed connection (router)."""
    editor = nodered_factory("editor")
    worker = nodered_factory("worker")
    editor.wait_ready()
    tab_id = "tab-slow"
    slow = [tab(tab_id, "slow")] + endpoint(
        tab_id,
        "slow",
        "/slow",
        "get",
        "setTimeout(() => { msg.payload = {done: true}; node.send(msg); }, 3000);\nreturn null;",
    )
    rev = AdminClient(editor.url, editor.editor_user, editor.editor_password).deploy(slow)
    worker.wait_ready(rev=rev)

    answer = {}
    inside = threading.Thread(target=lambda: answer.update(r=requests.get(worker.node_url + "/slow", timeout=15)))
    inside.start()
    time.sleep(0.5)
    for pid in worker._node_pids():  # node itself, as `docker stop` signals it
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        live = requests.get(worker.url + "/livez", timeout=2)
        if live.status_code == 503:
            break
        time.sleep(0.05)
    assert (live.status_code, live.json()["shuttingDown"]) == (503, True)
    r = requests.get(worker.node_url + "/slow", timeout=5)
    assert (r.status_code, r.headers.get("Retry-After"), r.headers.get("Connection")) == (503, "1", "close")
    with pytest.raises(requests.ConnectionError):
        requests.get(worker.node_url + "/slow", headers={"X-Nodered-Router": "nginx"}, timeout=5)
    inside.join(15)
    assert answer["r"].status_code == 200 and answer["r"].json() == {"done": True}
    assert worker.wait_exit(timeout=20) == 0


def test_editor_login_from_a_bcrypt_hash(nodered_factory):
    import subprocess

    from local_stack.node_lines import line
    from local_stack.nodered import IMAGE_DIR

    hashed = subprocess.run(
        [str(line().node), "-e", "process.stdout.write(require('bcryptjs').hashSync('hashed pw', 8))"],
        cwd=IMAGE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    editor = nodered_factory(
        "editor", editor_user="ops", editor_password=None, extra_env={"NODE_RED_EDITOR_PASSWORD_HASH": hashed}
    )
    editor.wait_ready()
    AdminClient(editor.url, "ops", "hashed pw").login()
    with pytest.raises(requests.HTTPError):
        AdminClient(editor.url, "ops", "other").login()
