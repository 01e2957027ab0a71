"""Revision integrity as an operator meets it: restores, manual fixes in the database, bad revisions and
bad deploys never leave workers silently wrong or down. Real Node-RED instances and SecantusDB; the
database is changed the way an operator with direct access changes it."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time

import requests

from local_stack import AdminClient, LocalRouter
from local_stack.flows import endpoint, marker_flow, served_marker, tab, wait_marker

MISSING = "no-such-node-type"


def start(nodered_factory, workers=2):
    editor = nodered_factory("editor")
    ws = [nodered_factory("worker") for _ in range(workers)]
    editor.wait_ready()
    for w in ws:
        w.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    admin.login()
    return editor, ws, admin


def deploy_everywhere(admin, workers, marker, **kw):
    rev = admin.deploy(marker_flow(marker, **kw))
    for w in workers:
        wait_marker(w.node_url, marker)
        w.wait_ready(rev=rev)
    return rev


def wait_health(inst, what, pred, timeout=20.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = inst.healthz()
            if pred(last):
                return last
        except (requests.RequestException, ValueError) as e:
            last = repr(e)
        time.sleep(0.05)
    raise AssertionError(f"{inst.instance_id}: {what} not seen within {timeout}s; last /healthz: {last}")


def insert_revision(flows_coll, rev, **fields):
    """A revision document written by hand, as an operator (or an old backup) would."""
    doc = {"_id": rev, "rev": rev, "savedAt": dt.datetime.now(dt.UTC), "savedBy": "operator", **fields}
    flows_coll.insert_one(doc)
    return doc


def status(mongo_url, db, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGO_DB")}
    return subprocess.run(
        [sys.executable, "-m", "nodered_status", *args, "--mongo-url", mongo_url, "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_deploy_after_the_flows_collection_is_restored_from_an_older_backup_reaches_every_worker(
    nodered_factory, mongo_server, mongo_db
):
    """Restoring `flows` from an older backup then deploying gave the deploy a number lower than the one
    the workers ran (200, yet workers kept the old flows, /healthz green). Now the restored revision is
    followed, and the deploy gets a number never given before and reaches every worker."""
    editor, workers, admin = start(nodered_factory)
    deploy_everywhere(admin, workers, "one")
    flows = mongo_server.client()[mongo_db].flows
    backup = list(flows.find())
    deploy_everywhere(admin, workers, "two")
    newest = deploy_everywhere(admin, workers, "three")
    # mongorestore --drop of the backup: the collection is dropped and re-created with the old documents.
    flows.drop()
    flows.insert_many(backup)
    for w in workers:
        wait_marker(w.node_url, "one")  # the database says revision 1 is the newest now
        assert w.wait_ready(rev=1)["rev"] == 1
    rev = admin.deploy(marker_flow("four"))
    assert rev is not None and rev > newest, f"deploy after the restore saved as {rev}, workers had run {newest}"
    for w in workers:
        wait_marker(w.node_url, "four")
        h = w.wait_ready(rev=rev)
        assert (h["rev"], h["status_code"]) == (rev, 200)


def test_deleting_a_bad_newest_revision_and_deploying_again_reaches_every_worker(
    nodered_factory, mongo_server, mongo_db
):
    """Deleting a bad newest revision then deploying reused its number, which workers knew as failed:
    they stayed on the old flows. Now the number is new and the deploy is loaded."""
    editor, workers, admin = start(nodered_factory)
    good = deploy_everywhere(admin, workers, "good")
    flows = mongo_server.client()[mongo_db].flows
    bad = insert_revision(
        flows,
        good + 1,
        deployId="bad",
        flows=marker_flow("bad") + [{"id": "x1", "type": MISSING, "z": "tab-marker", "wires": []}],
    )
    for w in workers:
        wait_health(
            w, "the bad revision seen", lambda h: h.get("latestRev") == bad["_id"] and h["state"] != "reloading"
        )
    flows.delete_one({"_id": bad["_id"]})
    rev = admin.deploy(marker_flow("fixed"))
    assert rev == bad["_id"] + 1, "the deleted revision's number is not given again"
    for w in workers:
        wait_marker(w.node_url, "fixed")
        h = w.wait_ready(rev=rev)
        assert (h["rev"], h["failed"], h["message"]) == (rev, None, f"serving revision {rev}")


def test_a_revision_without_flows_is_reported_and_workers_keep_serving_the_one_before(
    nodered_factory, mongo_server, mongo_db
):
    """A revision document without `flows` made every worker load an empty flow set (every endpoint 404)
    with /healthz 200 "running". Now it is a failed revision, reported, and the flows before keep serving."""
    editor, workers, admin = start(nodered_factory)
    rev = deploy_everywhere(admin, workers, "one")
    insert_revision(mongo_server.client()[mongo_db].flows, rev + 1, deployId="no-flows")
    for w in workers:
        wait_health(w, "revision 2 seen", lambda h: h.get("latestRev") == rev + 1 and h["status_code"] == 200)
        assert served_marker(w.node_url) == "one"
        h = wait_health(w, "the failure reported", lambda h: h.get("failed") is not None)
        assert (h["rev"], h["latestRev"], h["state"], h["ready"], h["status_code"]) == (
            rev,
            rev + 1,
            "running",
            True,
            200,
        )
        assert h["failed"] == {"rev": rev + 1, "reason": "it has no flows field"}
        assert h["message"] == f"serving revision {rev}, revision {rev + 1} failed: it has no flows field"
        assert served_marker(w.node_url) == "one"
    deadline = time.monotonic() + 15
    while (p := status(mongo_server.url, mongo_db)).stdout.count(
        "failed on 2 of 2"
    ) == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert p.returncode == 1, p.stdout
    assert f"revision {rev + 1} failed on 2 of 2 workers: it has no flows field; they serve revision {rev}" in p.stdout


def test_a_document_with_a_string_id_is_no_revision_and_the_next_deploy_reaches_every_worker(
    nodered_factory, mongo_server, mongo_db
):
    """A document with a string _id made the next deploy answer 200 with X-Flows-Revision "zzz1", and
    workers never loaded it. Now it is reported as no revision, and deploys are numbered as before."""
    editor, workers, admin = start(nodered_factory)
    rev = deploy_everywhere(admin, workers, "one")
    mongo_server.client()[mongo_db].flows.insert_one({"_id": "zzz", "rev": "zzz", "flows": marker_flow("stray")})
    r = admin.session.post(
        editor.url + "/flows",
        json={"flows": marker_flow("two")},
        headers=admin.headers(**{"Node-RED-Deployment-Type": "full"}),
        timeout=30,
    )
    assert (r.status_code, r.headers.get("X-Flows-Revision")) == (200, str(rev + 1))
    for w in workers:
        wait_marker(w.node_url, "two")
        assert w.wait_ready(rev=rev + 1)["failed"] is None
    p = status(mongo_server.url, mongo_db, "history")
    assert p.returncode == 0, p.stderr
    assert 'not revisions (their _id is no revision number: never loaded, delete them):\n  _id "zzz"' in p.stdout


def test_an_editor_restarted_while_the_newest_revision_is_malformed_loads_the_newest_valid_one(
    nodered_factory, mongo_server, mongo_db
):
    """The editor restarted while the newest revision was malformed stayed "loading" (503), GET /flows
    answered null, nothing was logged, and a fix deploy did not start its own flows. Now it loads the
    newest valid revision, says what it skipped, and its admin API and deploys work."""
    editor, workers, admin = start(nodered_factory, workers=1)
    rev = deploy_everywhere(admin, workers, "one")
    insert_revision(mongo_server.client()[mongo_db].flows, rev + 1, deployId="bad", flows={"not": "an array"})
    editor.stop()
    editor.start()
    h = editor.wait_ready(timeout=60)
    reason = "its flows field is an object, not an array"
    assert (h["rev"], h["state"]) == (rev, "running")
    assert h["message"] == f"serving revision {rev}, revision {rev + 1} failed: {reason}"
    assert f"loaded flows revision {rev} (4 nodes); skipped revision {rev + 1} ({reason})" in editor.log_text()
    admin.login()
    got = admin.get_flows()
    assert [n["id"] for n in got["flows"]] == [n["id"] for n in marker_flow("one")]
    fixed = admin.deploy(marker_flow("fixed"))
    assert fixed == rev + 2
    h = editor.wait_ready(rev=fixed)
    assert (h["rev"], h["failed"]) == (fixed, None), "the editor's own flows run the fix"
    wait_marker(workers[0].node_url, "fixed")


def test_a_deploy_with_node_types_the_image_lacks_is_refused_and_nothing_is_saved(
    nodered_factory, mongo_server, mongo_db
):
    """Such a deploy was accepted (200) and took every worker's endpoints down. Now the editor answers
    400 naming the missing types, saves nothing, and the workers keep serving."""
    editor, workers, admin = start(nodered_factory, workers=1)
    deploy_everywhere(admin, workers, "one")
    flows = mongo_server.client()[mongo_db].flows
    before = flows.count_documents({})
    broken = marker_flow("broken") + [
        {"id": "x1", "type": MISSING, "z": "tab-marker", "wires": []},
        {"id": "x2", "type": "another-missing", "z": "tab-marker", "wires": []},
    ]
    r = admin.session.post(
        editor.url + "/flows",
        json={"flows": broken},
        headers=admin.headers(**{"Node-RED-Deployment-Type": "full"}),
        timeout=30,
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "missing_node_types"
    assert f'"{MISSING}" (node "x1")' in body["message"] and '"another-missing" (node "x2")' in body["message"]
    # The single-flow API too.
    r = admin.post(
        "/flow", json={"label": "new", "nodes": [{"id": "y1", "type": MISSING, "x": 1, "y": 1, "wires": []}]}
    )
    assert (r.status_code, r.json()["code"]) == (400, "missing_node_types")
    assert flows.count_documents({}) == before, "nothing saved"
    assert served_marker(workers[0].node_url) == "one"
    assert editor.healthz()["status_code"] == 200


def test_a_revision_that_cannot_start_leaves_workers_serving_the_one_before_through_the_router(
    nodered_factory, mongo_server, mongo_db
):
    """A revision whose flows cannot start (inserted by hand: the editor refuses such deploys) stopped every
    worker's endpoints while the router kept routing to them. Now each worker goes back to the newest
    revision that started, stays ready, and says so in /healthz and the status command."""
    editor, workers, admin = start(nodered_factory)
    rev = deploy_everywhere(admin, workers, "one")
    bad = rev + 1
    insert_revision(
        mongo_server.client()[mongo_db].flows,
        bad,
        deployId="cannot-start",
        flows=marker_flow("bad") + [{"id": "x1", "type": MISSING, "z": "tab-marker", "wires": []}],
    )
    why = f"missing node types: {MISSING}"
    for w in workers:
        h = wait_health(w, "the fallback", lambda h: h.get("failed") is not None and h["status_code"] == 200)
        assert (h["rev"], h["latestRev"], h["state"], h["ready"]) == (rev, bad, "running", True)
        assert h["message"] == f"serving revision {rev}, revision {bad} failed: {why}"
        print(f"GET /healthz of {w.instance_id}: {json.dumps({k: v for k, v in h.items() if k != 'status_code'})}")
    with LocalRouter([f"127.0.0.1:{w.port}" for w in workers], f"127.0.0.1:{editor.port}") as router:
        answers = [requests.get(router.api_url + "/marker", timeout=10) for _ in range(20)]
        assert [(a.status_code, a.json()["marker"]) for a in answers] == [(200, "one")] * 20
    deadline = time.monotonic() + 15
    while (p := status(mongo_server.url, mongo_db)).stdout.count(
        "failed on 2 of 2"
    ) == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    print(p.stdout)
    assert p.returncode == 1
    assert f"revision {bad} failed on 2 of 2 workers: {why}; they serve revision {rev}" in p.stdout


def restart_probe_flow() -> list[dict]:
    """GET /boot answers an id its function node picks each time its flows (re)start."""
    nodes = [tab("tab-boot", "boot")] + endpoint(
        "tab-boot", "boot", "/boot", "get", "msg.payload = {boot: context.get('boot')};\nreturn msg;"
    )
    nodes[2]["initialize"] = "context.set('boot', Math.random().toString(36).slice(2));"
    return nodes


def test_restart_flows_in_the_editor_restarts_the_flows_on_every_worker(nodered_factory, mongo_server, mongo_db):
    """ "Restart flows" (deploy type reload) restarted only the editor's flows. Now every worker restarts
    its flows too, without a new revision, and the status command says so."""
    editor, workers, admin = start(nodered_factory)
    rev = admin.deploy(restart_probe_flow())

    def boot(w):
        return requests.get(w.node_url + "/boot", timeout=5).json()["boot"]

    for w in workers:
        w.wait_ready(rev=rev)
    before = {w.instance_id: boot(w) for w in workers}
    r = admin.session.post(
        editor.url + "/flows", headers=admin.headers(**{"Node-RED-Deployment-Type": "reload"}), timeout=30
    )
    assert r.status_code == 200, r.text
    for w in workers:
        deadline = time.monotonic() + 15
        while boot(w) == before[w.instance_id] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert boot(w) != before[w.instance_id], f"{w.instance_id} did not restart its flows"
        assert w.wait_ready(rev=rev)["rev"] == rev
    assert mongo_server.client()[mongo_db].flows.count_documents({}) == 1, "no new revision"
    deadline = time.monotonic() + 15
    while "2 of 2 workers restarted them" not in (p := status(mongo_server.url, mongo_db)).stdout:
        assert time.monotonic() < deadline, p.stdout
        time.sleep(0.3)
    assert "flows restarted just now by admin (restart 1): 2 of 2 workers restarted them" in p.stdout or (
        "by admin (restart 1): 2 of 2 workers restarted them" in p.stdout
    )


def test_stored_flows_round_trip_exactly_or_the_deploy_is_refused(nodered_factory, mongo_server, mongo_db):
    """`__proto__` keys were silently dropped and a lone surrogate in a key was rewritten. Now keys with
    `$`, `.`, `~` and any unicode come back byte-equal (also after an editor restart, read from MongoDB),
    and what MongoDB or Node-RED cannot keep is refused with 400 naming the place."""
    editor, workers, admin = start(nodered_factory, workers=1)
    flows = marker_flow("keys")
    flows[1]["x-props"] = {"$set": 1, "a.b": {"~d": "~p", "~": [1, 2]}, "ключ €😀": "значение", "": "empty key"}
    sent = json.dumps(flows, ensure_ascii=False)
    rev = admin.deploy(flows)
    editor.stop()
    editor.start()
    editor.wait_ready(rev=rev)
    admin.login()
    assert json.dumps(admin.get_flows()["flows"], ensure_ascii=False) == sent
    wait_marker(workers[0].node_url, "keys")

    def post(raw: str):
        return admin.session.post(
            editor.url + "/flows",
            data=raw.encode(),
            headers=admin.headers(**{"Node-RED-Deployment-Type": "full", "Content-Type": "application/json"}),
            timeout=30,
        )

    count = mongo_server.client()[mongo_db].flows.count_documents({})
    proto = (
        json.dumps({"flows": marker_flow("proto")})[:-2]
        + ',{"id":"p1","type":"comment","z":"tab-marker","info":{"__proto__":{"x":1}}}]}'
    )
    r = post(proto)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "unstorable_flows"
    assert 'a field named "__proto__" cannot be stored' in r.json()["message"]
    surrogate = (
        json.dumps({"flows": marker_flow("lone")})[:-2]
        + ',{"id":"s1","type":"comment","z":"tab-marker","k\\ud800":1}]}'
    )
    r = post(surrogate)
    assert (r.status_code, r.json()["code"]) == (400, "unstorable_flows"), r.text
    assert "lone UTF-16 surrogate" in r.json()["message"]
    assert mongo_server.client()[mongo_db].flows.count_documents({}) == count, "nothing saved"
    assert served_marker(workers[0].node_url) == "keys"
