"""Credentials the editor stores are encrypted in MongoDB, survive an editor restart and decrypt on workers."""

import time

import requests

from local_stack import AdminClient, LocalRouter
from local_stack.flows import credentials_flow, marker_flow, wait_marker


def secure(inst):
    return requests.get(inst.node_url + "/secure", timeout=10)


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


def test_a_worker_whose_credential_secret_differs_is_out_of_rotation(nodered_factory):
    """A worker that cannot decrypt the editor's credentials runs flows whose credential nodes are broken:
    it is not ready (/healthz 503, what the ALB checks) and turns flow requests away (503, or a closed
    connection for the router, which then tries another worker), so the router never answers with it."""
    editor = nodered_factory("editor")
    good = nodered_factory("worker")
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    rev = admin.deploy(credentials_flow("u", "p", http_node_root=editor.http_node_root))
    good.wait_ready(rev=rev)
    stranger = nodered_factory("worker", credential_secret="some-other-secret")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            h = stranger.healthz()
            if h["rev"] == rev:
                break
        except requests.RequestException:
            pass
        time.sleep(0.1)
    assert (h["rev"], h["state"], h["ready"], h["status_code"]) == (rev, "error", False, 503)
    assert "the credentials of revision" in h["message"] and "do not decrypt" in h["message"]
    assert "NODE_RED_CREDENTIAL_SECRET must be the editor's" in stranger.log_text()
    r = secure(stranger)
    assert (r.status_code, r.headers.get("Retry-After")) == (503, "1"), (
        "turned away, not answered with broken credentials"
    )
    with LocalRouter([f"127.0.0.1:{stranger.port}", f"127.0.0.1:{good.port}"], f"127.0.0.1:{editor.port}") as router:
        answers = [requests.get(router.api_url + "/secure", timeout=10) for _ in range(10)]
        assert [(a.status_code, a.text) for a in answers] == [(200, "secret-ok")] * 10
