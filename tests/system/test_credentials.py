"""Credentials the editor stores are encrypted in MongoDB, survive an editor restart and decrypt on workers."""

import subprocess
import sys
import time
from pathlib import Path

import requests

from local_stack import AdminClient, LocalRouter
from local_stack.flows import credentials_flow, marker_flow, wait_marker
from local_stack.node_lines import line

CIPHER = Path(__file__).resolve().parents[2] / "nodered_image" / "storage" / "lib" / "credential_cipher.js"
NODE = line().node


def secure(inst):
    return requests.get(inst.node_url + "/secure", timeout=10)


def editor_and_worker_serving_credentials(nodered_factory):
    """(editor, worker, rev): an editor and a worker, the worker serving revision `rev`, a flow with credentials."""
    editor = nodered_factory("editor")
    worker = nodered_factory("worker")
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    rev = admin.deploy(credentials_flow("u", "p", http_node_root=editor.http_node_root))
    worker.wait_ready(rev=rev)
    return editor, worker, rev


def wait_until(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def wait_health(inst, condition, timeout=30.0) -> dict:
    """The instance's /healthz once `condition` holds for it."""
    found: list[dict] = []

    def check():
        try:
            h = inst.healthz()
        except requests.RequestException:
            return False
        found[:] = [h]
        return condition(h)

    wait_until(check, timeout, f"/healthz of {inst.instance_id}: last {found}")
    return found[0]


def test_credentials_and_login_session_survive_a_new_editor_with_a_fresh_user_dir(
    nodered_factory, mongo_server, mongo_db
):
    """Guards: credentials or the editor's login sessions kept in the user dir, which dies with the editor's
    container (Fargate tasks, a replaced container): every flow credential or login lost on each deploy of
    the stack. A restart that keeps the user dir would not notice; a new editor with an empty one does."""
    editor = nodered_factory("editor")
    worker = nodered_factory("worker")
    editor.wait_ready()
    worker.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    rev = admin.deploy(
        credentials_flow("api-user", "s3cret pass", http_node_root=editor.http_node_root) + marker_flow("one")
    )
    worker.wait_ready(rev=rev)
    r = secure(worker)
    assert (r.status_code, r.text) == (200, "secret-ok")

    # Stored encrypted, never in clear.
    doc = mongo_server.client()[mongo_db].flows.find_one({"_id": rev})
    assert set(doc["credentials"]) == {"encrypted"}
    assert "s3cret" not in str(doc)

    # The login session is in MongoDB.
    sessions = mongo_server.client()[mongo_db].sessions.find_one({"_id": "sessions"})
    assert admin.token in sessions["sessions"]

    # The editor's container is replaced: a new process with an empty user dir, the same database.
    editor.stop()
    first_user_dir = editor.user_dir
    editor = nodered_factory("editor")
    assert editor.user_dir != first_user_dir
    editor.wait_ready(rev=rev)
    # The editor serves no flow endpoints: that the new editor decrypted the credentials shows below,
    # where a deploy from it carries them into a revision the worker decrypts.
    # The token from before still works on the new editor: no new login.
    admin.base_url = editor.url
    assert [n["id"] for n in admin.get_flows()["flows"]][:1] == ["tab-secure"]

    # A deploy that does not touch credentials keeps them (the restarted editor carries them into the
    # new revision).
    flows = [n for n in admin.get_flows()["flows"] if not n["id"].startswith("m-")] + marker_flow("two")
    rev2 = admin.deploy(flows)
    assert rev2 == rev + 1
    wait_marker(worker.node_url, "two")
    r = secure(worker)
    assert (r.status_code, r.text) == (200, "secret-ok")

    # A worker started afterwards decrypts them too.
    late = nodered_factory("worker")
    late.wait_ready(rev=rev2)
    assert secure(late).status_code == 200


def test_an_instance_whose_credential_key_is_not_the_databases_refuses_to_serve_and_says_why(
    nodered_factory, mongo_server, mongo_db
):
    """Guards: a worker with another NODE_RED_CREDENTIAL_SECRET loaded revision after revision whose credentials it
    could not decrypt, and an editor with another key encrypted its next deploy with a key no worker had, nothing
    saying why. Such an instance now refuses to serve from the start: not ready (/healthz 503 with the reason, what
    the ALB checks), the reason in its log and its status record, which the status command shows; flow requests
    are turned away (503, or a closed connection for the router, which then tries another worker)."""
    editor, good, _ = editor_and_worker_serving_credentials(nodered_factory)
    stranger = nodered_factory("worker", credential_secret="some-other-secret-0123456789")
    wrong_editor = nodered_factory("editor", credential_secret="some-other-secret-0123456789")
    for inst in (stranger, wrong_editor):
        h = wait_health(inst, lambda h: h["state"] == "error")
        assert (h["rev"], h["ready"], h["status_code"]) == (None, False, 503)
        assert h["message"].startswith("refusing to serve: NODE_RED_CREDENTIAL_SECRET (key ")
        assert "is not this database's credential key (key " in h["message"]
        wait_until(lambda inst=inst, h=h: f"[storage] {h['message']}" in inst.log_text(), what="the log line")
    status = subprocess.run(
        [sys.executable, "-m", "nodered_status", "--mongo-url", mongo_server.url, "--db", mongo_db],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 1, status.stdout
    assert f"2 instances {h['message']} ({wrong_editor.instance_id}, {stranger.instance_id})" in status.stdout
    assert "credential keys differ (" in status.stdout
    r = secure(stranger)
    assert (r.status_code, r.headers.get("Retry-After")) == (503, "1"), "turned away, never answered"
    with LocalRouter([f"127.0.0.1:{stranger.port}", f"127.0.0.1:{good.port}"], f"127.0.0.1:{editor.port}") as router:
        answers = [requests.get(router.api_url + "/secure", timeout=10) for _ in range(10)]
        assert [(a.status_code, a.text) for a in answers] == [(200, "secret-ok")] * 10


def test_a_revision_whose_credentials_do_not_decrypt_takes_a_worker_out_of_rotation(
    nodered_factory, mongo_server, mongo_db
):
    """A revision inserted or restored from another deployment (its credentials encrypted with another key) while
    the database's key is this stack's: a worker that loads it runs flows whose credential nodes are broken, so it
    is not ready and turns flow requests away rather than answering with them."""
    _, worker, rev = editor_and_worker_serving_credentials(nodered_factory)
    flows = mongo_server.client()[mongo_db].flows
    doc = flows.find_one({"_id": rev})
    foreign = subprocess.run(
        [
            str(NODE),
            "-e",
            "process.stdout.write(require(process.argv[1]).encryptText(process.argv[2], process.argv[3]))",
            str(CIPHER),
            "another-deployments-key-0123",
            '{"c-secure-req":{"user":"u","password":"p"}}',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flows.insert_one(
        {**doc, "_id": rev + 1, "rev": rev + 1, "deployId": "restored", "credentials": {"encrypted": foreign}}
    )
    h = wait_health(worker, lambda h: h["rev"] == rev + 1)
    assert (h["state"], h["ready"], h["status_code"]) == ("error", False, 503)
    assert "the credentials of revision" in h["message"] and "do not decrypt" in h["message"]
    assert "NODE_RED_CREDENTIAL_SECRET must be the editor's" in worker.log_text()
    r = secure(worker)
    assert (r.status_code, r.headers.get("Retry-After")) == (503, "1"), (
        "turned away, not answered with broken credentials"
    )
