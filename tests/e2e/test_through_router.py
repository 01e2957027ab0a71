"""The deployed system as a user reaches it: everything through the router (nginx, rendered config)."""

from __future__ import annotations

import json
import uuid

import requests
import websocket

from local_stack.flows import credentials_flow, whoami_flow


def get_json(url):
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, f"{url}: {r.status_code} {r.text[:200]}"
    return r.json()


def test_login_and_deploy_through_router_then_every_worker_serves_the_endpoint(shared_stack):
    stack = shared_stack
    admin = stack.admin()  # token login goes to the editor through the router
    marker = uuid.uuid4().hex
    rev = stack.deploy(whoami_flow(marker), admin=admin)
    assert isinstance(rev, int) and rev >= 1

    deployed = admin.get_flows()["flows"]
    assert any(n.get("type") == "http in" and n.get("url") == "/whoami" for n in deployed)

    answers = [get_json(stack.router.api_url + "/whoami") for _ in range(30)]
    assert {a["marker"] for a in answers} == {marker}
    # Round robin: every worker answered, nothing else did.
    assert {a["port"] for a in answers} == {w.port for w in stack.workers}


def test_flow_with_credentials_works_through_router(shared_stack):
    stack = shared_stack
    stack.deploy(
        credentials_flow(
            "api-user", "pa55-" + uuid.uuid4().hex[:6], http_node_root=stack.http_node_root, path="/secure"
        )
    )
    # Each worker decrypts the credentials the editor stored; 9 requests reach all 3 of them.
    for _ in range(9):
        r = requests.get(stack.router.api_url + "/secure", timeout=10)
        assert (r.status_code, r.text) == (200, "secret-ok")


def test_editor_comms_websocket_upgrades_through_router(shared_stack):
    stack = shared_stack
    admin = stack.admin()
    ws = websocket.create_connection(stack.router.url.replace("http://", "ws://") + "/comms", timeout=15)
    try:
        assert ws.getstatus() == 101
        ws.send(json.dumps({"auth": admin.token}))
        assert json.loads(ws.recv()) == {"auth": "ok"}
        ws.send(json.dumps({"subscribe": "notification/#"}))
        # A deploy made through the router is announced to the editor's websocket.
        rev = stack.deploy(whoami_flow(uuid.uuid4().hex), admin=admin)
        topics = []
        while "notification/runtime-deploy" not in topics:
            for msg in json.loads(ws.recv()):
                topics.append(msg.get("topic"))
        assert rev >= 1
    finally:
        ws.close()


def test_comms_websocket_refuses_a_bad_token(shared_stack):
    ws = websocket.create_connection(shared_stack.router.url.replace("http://", "ws://") + "/comms", timeout=15)
    try:
        ws.send(json.dumps({"auth": "not-a-token"}))
        assert json.loads(ws.recv()) == {"auth": "fail"}
    finally:
        ws.close()


ADMIN_PATHS = ["/flows", "/auth/login", "/settings", "/nodes", "/diagnostics"]


def test_workers_have_no_admin_api_on_their_own_ports(shared_stack):
    stack = shared_stack
    token = stack.admin().token
    auth = {"Authorization": f"Bearer {token}"}
    for w in stack.workers:
        for path in ADMIN_PATHS:
            r = requests.get(w.url + path, headers=auth, timeout=10)
            assert r.status_code == 404, f"{w.instance_id} GET {path}: {r.status_code} {r.text[:200]}"
        r = requests.post(w.url + "/flows", json={"flows": []}, headers=auth, timeout=10)
        assert r.status_code == 404
        r = requests.post(
            w.url + "/auth/token",
            timeout=10,
            data={
                "client_id": "node-red-admin",
                "grant_type": "password",
                "scope": "*",
                "username": stack.editor_user,
                "password": stack.editor_password,
            },
        )
        assert r.status_code == 404


def test_nothing_under_the_router_reaches_a_worker_admin_api(shared_stack):
    stack = shared_stack
    token = stack.admin().token
    auth = {"Authorization": f"Bearer {token}"}
    # Admin paths at the router's root are the editor's, and need a login there.
    r = requests.get(stack.router.url + "/flows", timeout=10)
    assert r.status_code == 401
    assert requests.get(stack.router.url + "/flows", headers=auth, timeout=10).status_code == 200
    # Admin paths under httpNodeRoot go to workers, which have no admin API: nothing but 404.
    for path in ADMIN_PATHS:
        for _ in range(len(stack.workers)):
            r = requests.get(stack.router.api_url + path, headers=auth, timeout=10)
            assert r.status_code == 404, f"GET {stack.http_node_root}{path}: {r.status_code} {r.text[:200]}"
    # The router's access log: every request outside httpNodeRoot went to the editor, none to a worker.
    workers = set(stack.worker_addresses)
    editor = f"127.0.0.1:{stack.editor.port}"
    entries = stack.router.access_log()
    outside = [e for e in entries if not e["uri"].startswith(stack.http_node_root + "/") and e["upstream_addr"]]
    assert outside, "no request outside httpNodeRoot was logged"
    for e in outside:
        tried = {a.strip() for a in e["upstream_addr"].split(",")}
        assert tried == {editor}, e
        assert not tried & workers
