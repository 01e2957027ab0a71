"""Editor access through the router (docs/editor-access.md): users with roles, API tokens, sessions that end
when their login changes, the audit trail (GET /cluster/audit and `python -m nodered_status audit` in both
modes), and node installs refused with the way to add nodes (the admin API and the real node-red-admin CLI).

Guards: one shared login and no read-only access (a support user could deploy); a changed password
leaving every session valid; nothing recording who logged in, from where, or who restarted flows; a
bare 404 ("Admin API not found") for node-red-admin install."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import requests

from local_stack import LocalStack
from local_stack.admin import AdminClient
from local_stack.comms import EditorComms
from local_stack.debug_flows import PROBE_NODE, debug_flow
from local_stack.node_lines import line
from local_stack.nodered import IMAGE_DIR

READ_TOKEN = "r" * 24 + uuid.uuid4().hex[:16]
CI_TOKEN = "c" * 24 + uuid.uuid4().hex[:16]
PASSWORDS = {"ann": "ann-read-password", "bob": "bob-admin-password", "cid": "cid-admin-password"}
USERS = [{"name": "ann", "role": "read"}, {"name": "bob", "role": "admin"}, {"name": "cid", "role": "admin"}]
EDITOR_ENV = {
    "NODE_RED_EDITOR_USERS": json.dumps(USERS),
    "NODE_RED_EDITOR_PASSWORDS": json.dumps(PASSWORDS),
    "NODE_RED_EDITOR_API_TOKENS": json.dumps([{"name": "ci", "role": "admin"}, {"name": "dashboards", "role": "read"}]),
    "NODE_RED_EDITOR_API_TOKEN_SECRETS": json.dumps({"ci": CI_TOKEN, "dashboards": READ_TOKEN}),
}
NODE_RED_ADMIN = IMAGE_DIR / "node_modules" / "node-red-admin" / "node-red-admin.js"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, mongo_server):
    """An editor with users (ann: read; bob, cid: admin) beside the shorthand admin, and API tokens (ci:
    admin; dashboards: read); one worker running the debug flow."""
    s = LocalStack(
        workers=1, mongo=mongo_server, base_dir=tmp_path_factory.mktemp("access"), editor_env=dict(EDITOR_ENV)
    )
    s.start()
    try:
        s.wait_recorded(s.deploy(debug_flow()))
        yield s
    finally:
        s.close()


def client(stack: LocalStack, user: str, password: str | None = None, scope: str = "") -> AdminClient:
    c = AdminClient(stack.url, user, password or PASSWORDS[user], scope=scope)
    c.login()
    return c


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Node-RED-API-Version": "v2"}


def restart_editor(stack: LocalStack, **env: str) -> None:
    """What `pulumi up` does after a change of the editor's logins: the editor starts again with them."""
    assert stack.editor is not None
    stack.editor.extra_env.update(env)
    stack.editor.stop()
    stack.editor.start()
    stack.editor.wait_ready(timeout=60)


def records(stack: LocalStack, **params) -> list[dict]:
    r = requests.get(
        stack.url + "/cluster/audit", params={"since": "1h", **params}, headers=bearer(CI_TOKEN), timeout=10
    )
    assert r.status_code == 200, r.text
    return r.json()["records"]


def wait_record(stack: LocalStack, pred, what: str) -> dict:
    deadline = time.monotonic() + 10
    while True:
        found = [r for r in records(stack) if pred(r)]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, f"no audit record of {what}: {records(stack)}"
        time.sleep(0.1)


def test_a_read_user_sees_flows_the_cluster_and_debug_output_but_changes_nothing(stack):
    ann = client(stack, "ann")
    assert ann.get("/flows").status_code == 200
    assert ann.get("/cluster/status").json()["inSync"] is True
    # Debug output of the workers reaches a read user's editor.
    with EditorComms(stack.url, ann.token) as comms:
        tag = uuid.uuid4().hex[:10]
        requests.get(stack.api_url + f"/dbg/probe/{tag}", timeout=10).raise_for_status()
        [msg] = comms.wait_for(lambda ms: [m for m in ms if tag in str(m.get("msg"))], what=f"debug {tag}")
        assert msg["id"] == PROBE_NODE
    newest = stack.admin().get("/cluster/status").json()["newestRev"]
    for what, response in {
        "deploy": ann.session.post(stack.url + "/flows", json={"flows": []}, headers=ann.headers()),
        "restart": ann.session.post(
            stack.url + "/flows", json={"flows": []}, headers=ann.headers(**{"Node-RED-Deployment-Type": "reload"})
        ),
        "rollback": ann.session.post(stack.url + "/cluster/rollback", json={"rev": 1}, headers=ann.headers()),
    }.items():
        assert response.status_code == 403, (what, response.status_code, response.text)
        assert "read" in response.json()["error"], (what, response.text)
    assert stack.admin().get("/cluster/status").json()["newestRev"] == newest, "nothing was saved"
    # A read user cannot ask for more than the role gives.
    assert password_login(stack, "ann", PASSWORDS["ann"], scope="*").status_code == 403


def test_api_tokens_work_with_their_role_and_each_use_is_audited_under_the_tokens_name(stack):
    assert requests.get(stack.url + "/cluster/status", headers=bearer(READ_TOKEN), timeout=10).status_code == 200
    refused = requests.post(stack.url + "/flows", json={"flows": []}, headers=bearer(READ_TOKEN), timeout=10)
    assert refused.status_code == 403 and "dashboards" in refused.json()["error"]
    assert requests.get(stack.url + "/flows", headers=bearer("x" * 40), timeout=10).status_code == 401
    flows = requests.get(stack.url + "/flows", headers=bearer(CI_TOKEN), timeout=10).json()["flows"]
    deployed = requests.post(stack.url + "/flows", json={"flows": flows}, headers=bearer(CI_TOKEN), timeout=10)
    assert deployed.status_code == 200, deployed.text
    rev = int(deployed.headers["X-Flows-Revision"])
    deploy = wait_record(stack, lambda r: r["event"] == "deploy" and r["rev"] == rev, f"the deploy of {rev}")
    assert (deploy["user"], deploy["via"], deploy["client"]) == ("ci", "token", "127.0.0.1")
    wait_record(
        stack, lambda r: r["event"] == "token.use" and r["user"] == "ci" and "POST /flows" in r["detail"], "ci's POST"
    )
    wait_record(stack, lambda r: r["event"] == "token.use" and r["user"] == "dashboards", "dashboards' reads")
    assert stack.admin().get("/cluster/revisions").json()["revisions"][0]["savedBy"] == "ci"
    # The status command takes the token as it is.
    out = subprocess.run(
        [sys.executable, "-m", "nodered_status", "--url", stack.url, "--token", READ_TOKEN],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "IN SYNC" in out.stdout


def test_sessions_end_when_a_password_or_role_changes_or_the_user_is_removed(stack):
    """The editor starts again with the new logins (as `pulumi up` or a restart starts it): the sessions of
    the users whose login changed end; the others' go on."""
    ann, bob, cid = client(stack, "ann"), client(stack, "bob"), client(stack, "cid")
    restart_editor(stack, NODE_RED_EDITOR_PASSWORDS=json.dumps({**PASSWORDS, "bob": "bob-new-password"}))
    assert bob.get("/flows").status_code == 401, "bob's password changed: his session ended"
    assert ann.get("/flows").status_code == 200 and cid.get("/flows").status_code == 200
    assert client(stack, "bob", "bob-new-password").get("/flows").status_code == 200
    wait_record(stack, lambda r: r["event"] == "sessions.ended" and r["user"] == "bob", "bob's sessions ending")

    users = [{"name": "ann", "role": "admin"}, {"name": "bob", "role": "admin"}]
    passwords = {"ann": PASSWORDS["ann"], "bob": "bob-new-password"}
    restart_editor(stack, NODE_RED_EDITOR_USERS=json.dumps(users), NODE_RED_EDITOR_PASSWORDS=json.dumps(passwords))
    assert ann.get("/flows").status_code == 401, "ann's role changed: her session ended"
    assert cid.get("/flows").status_code == 401, "cid was removed: his session ended"
    ended = wait_record(stack, lambda r: r["event"] == "sessions.ended" and r["user"] == "cid", "cid's sessions ending")
    assert "no longer" in ended["detail"]
    restart_editor(stack, **EDITOR_ENV)


def password_login(stack: LocalStack, user: str, password: str, scope: str = "") -> requests.Response:
    return requests.post(
        stack.url + "/auth/token",
        data={
            "client_id": "node-red-admin",
            "grant_type": "password",
            "scope": scope,
            "username": user,
            "password": password,
        },
        timeout=10,
    )


def test_every_session_has_a_maximum_age(stack):
    """Node-RED's own default is a week; here NODE_RED_SESSION_HOURS (editor.sessionHours, default 12)."""
    assert password_login(stack, "ann", PASSWORDS["ann"]).json()["expires_in"] == 12 * 3600
    restart_editor(stack, NODE_RED_SESSION_HOURS="1")
    try:
        assert password_login(stack, "ann", PASSWORDS["ann"]).json()["expires_in"] == 3600
    finally:
        restart_editor(stack, NODE_RED_SESSION_HOURS="12")


def test_the_audit_trail_records_each_event_with_user_client_and_revision(stack):
    bob = client(stack, "bob", scope="*")
    flows = bob.get_flows()["flows"]
    rev = bob.deploy(flows)
    restarted = bob.session.post(
        stack.url + "/flows", json={"flows": flows}, headers=bob.headers(**{"Node-RED-Deployment-Type": "reload"})
    )
    assert restarted.status_code == 200
    rolled = bob.post("/cluster/rollback", json={"rev": rev}).json()["rev"]
    assert password_login(stack, "bob", "wrong-wrong").status_code == 403
    assert (
        bob.session.post(stack.url + "/auth/revoke", data={"token": bob.token}, headers=bob.headers()).status_code
        == 200
    )
    seen = {
        "login": wait_record(stack, lambda r: r["event"] == "login" and r["user"] == "bob", "bob's login"),
        "deploy": wait_record(stack, lambda r: r["event"] == "deploy" and r["rev"] == rev, "the deploy"),
        "restart": wait_record(stack, lambda r: r["event"] == "restart" and r["user"] == "bob", "the restart"),
        "rollback": wait_record(stack, lambda r: r["event"] == "rollback" and r["rev"] == rolled, "the rollback"),
        "login.failed": wait_record(
            stack, lambda r: r["event"] == "login.failed" and r["user"] == "bob", "the failed login"
        ),
        "logout": wait_record(stack, lambda r: r["event"] == "logout" and r["user"] == "bob", "bob's logout"),
    }
    for event, record in seen.items():
        assert record["user"] == "bob" and record["client"] == "127.0.0.1", (event, record)
        assert record["at"].endswith("Z"), record
    assert seen["rollback"]["detail"] == f"of revision {rev}"
    assert seen["deploy"]["deployType"] == "full" and seen["deploy"]["via"] == "password"
    # The status command lists the same records from the editor and from MongoDB.
    env = {**os.environ, "NODE_RED_PASSWORD": PASSWORDS["bob"]}
    modes = {
        "url": ["--url", stack.url, "--user", "bob"],
        "mongo": ["--mongo-url", stack.mongo.url, "--db", stack.db],
    }
    for mode, args in modes.items():
        out = subprocess.run(
            [sys.executable, "-m", "nodered_status", "audit", "--since", "1h", "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, (mode, out.stderr)
        listed = json.loads(out.stdout)["records"]
        for record in seen.values():
            assert record in listed, (mode, record)
    table = subprocess.run(
        [
            sys.executable,
            "-m",
            "nodered_status",
            "audit",
            "--since",
            "1h",
            "--mongo-url",
            stack.mongo.url,
            "--db",
            stack.db,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert table.splitlines()[0].split() == ["TIME", "EVENT", "USER", "VIA", "CLIENT", "REV", "DETAIL"]
    assert any(ln.split()[2:5] == ["rollback", "bob", "password"] for ln in table.splitlines()), table


@pytest.mark.parametrize(
    "params,headers,status,reason",
    [
        ({}, {}, 401, "log in first"),
        ({}, "ann", 403, "cluster.audit"),
        ({}, "dashboards", 403, "cluster.audit"),
        ({"since": "yesterday"}, "ci", 400, "since must be"),
        ({"since": "2026-13-01"}, "ci", 400, "since must be"),
        ({"since": "2026-12-01T00:00"}, "ci", 400, "since must be"),
        ({"limit": "0"}, "ci", 400, "limit must be"),
        ({"user": "bob"}, "ci", 400, "unknown query parameter"),
    ],
)
def test_the_audit_api_refuses_what_it_cannot_answer(stack, params, headers, status, reason):
    auth = {"ci": bearer(CI_TOKEN), "dashboards": bearer(READ_TOKEN)}.get(headers) if isinstance(headers, str) else None
    if headers == "ann":
        auth = client(stack, "ann").headers()
    r = requests.get(stack.url + "/cluster/audit", params=params, headers=auth or {}, timeout=10)
    assert r.status_code == status, r.text
    assert reason in r.json()["error"]


def test_the_audit_command_refuses_a_malformed_since(stack):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "nodered_status",
            "audit",
            "--since",
            "last week",
            "--url",
            stack.url,
            "--token",
            CI_TOKEN,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "--since 'last week'" in out.stderr


def test_installing_nodes_is_refused_naming_image_extra_nodes(stack):
    r = requests.post(
        stack.url + "/nodes", json={"module": "node-red-contrib-foo"}, headers=bearer(CI_TOKEN), timeout=10
    )
    assert r.status_code == 403 and "image.extraNodes" in r.json()["message"]
    assert requests.post(stack.url + "/nodes", json={"module": "node-red-contrib-foo"}, timeout=10).status_code == 401
    # The real node-red-admin CLI, as a user runs it against the editor's URL.
    home = tempfile.mkdtemp(prefix="node-red-admin-")
    env = {**os.environ, "HOME": home}

    def admin(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(line().node), str(NODE_RED_ADMIN), *args], env=env, capture_output=True, text=True, timeout=60
        )

    assert admin("target", stack.url).returncode == 0
    assert "Logged in" in cli_login(env, "bob", PASSWORDS["bob"])
    installed = admin("install", "node-red-contrib-foo@1.0.0")
    assert installed.returncode == 1
    assert installed.stderr.startswith("403: nodes cannot be installed") and "image.extraNodes" in installed.stderr
    assert "Admin API not found" not in installed.stderr + installed.stdout
    assert admin("list").returncode == 0


def cli_login(env: dict, user: str, password: str) -> str:
    """node-red-admin login, answering its prompts on a terminal (it reads them from a TTY)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(
        [str(line().node), str(NODE_RED_ADMIN), "login"],
        env=env,
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    os.close(slave)
    assert p.stdout is not None
    out = b""
    try:
        for prompt, answer in ((b"Username:", user), (b"Password:", password)):
            deadline = time.monotonic() + 30
            while prompt not in out:
                ready, _, _ = select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))
                assert ready, f"node-red-admin did not ask for {prompt!r}: {out!r}"
                out += os.read(p.stdout.fileno(), 4096)
            os.write(master, (answer + "\n").encode())
        rest, _ = p.communicate(timeout=30)
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
    return (out + rest).decode()


def test_audit_records_expire_after_the_retention_and_a_new_retention_replaces_the_old(stack):
    def ttl() -> int:
        client = stack.mongo.client()
        try:
            return client[stack.db]["audit"].index_information()["at_ttl"]["expireAfterSeconds"]
        finally:
            client.close()

    client(stack, "ann")
    wait_record(stack, lambda r: r["event"] == "login" and r["user"] == "ann", "ann's login")
    assert ttl() == 90 * 86400
    restart_editor(stack, NODE_RED_AUDIT_RETENTION_DAYS="30")
    try:
        client(stack, "ann")
        deadline = time.monotonic() + 10
        while ttl() != 30 * 86400:
            assert time.monotonic() < deadline, f"the audit TTL is still {ttl()} s"
            time.sleep(0.1)
    finally:
        restart_editor(stack, NODE_RED_AUDIT_RETENTION_DAYS="90")
