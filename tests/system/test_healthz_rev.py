"""/healthz `rev` names the revision whose flows run, also while a newer one is loading or cannot start:
the one moment it differs from `latestRev`, and the moment an operator reads it."""

import datetime
import threading
import time
import uuid

import requests

from local_stack import AdminClient
from local_stack.flows import endpoint, marker_flow, tab

BROKEN_NODE = {"id": "x1", "type": "no-such-node-type", "z": "tab-marker", "wires": []}


def wait_healthz(inst, until, timeout=20.0) -> dict:
    """Poll /healthz until until(body) holds; the last body either way (the caller asserts on it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            h = inst.healthz()
        except requests.ConnectionError:  # not listening yet
            assert time.monotonic() < deadline, f"{inst.instance_id} never answered /healthz"
        else:
            if until(h) or time.monotonic() >= deadline:
                return h
        time.sleep(0.05)


def wait_log(inst, text, timeout=20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in inst.log_text():
        assert time.monotonic() < deadline, f"{text!r} not in {inst.instance_id}'s log"
        time.sleep(0.05)


def test_rev_is_the_running_revision_while_the_next_one_waits_to_load(nodered_factory):
    """Guards: /healthz naming the newest known revision as running while the worker still runs the
    previous one (here: it waits for a request inside the old flows before swapping)."""
    editor = nodered_factory("editor")
    worker = nodered_factory("worker")
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    entered = f"slow request entered {uuid.uuid4().hex[:8]}"
    slow = [tab("tab-slow", "slow")] + endpoint(
        "tab-slow",
        "slow",
        "/slow",
        "get",
        f"node.warn({entered!r});\n"
        "setTimeout(() => { msg.payload = {done: true}; node.send(msg); }, 4000);\nreturn null;",
    )
    running = admin.deploy(slow + marker_flow("one"))
    worker.wait_ready(rev=running)

    answer = {}
    inside = threading.Thread(target=lambda: answer.update(r=requests.get(worker.node_url + "/slow", timeout=20)))
    inside.start()
    wait_log(worker, entered)
    newer = admin.deploy(slow + marker_flow("two"))
    h = wait_healthz(worker, lambda h: h["latestRev"] == newer)
    assert (h["rev"], h["latestRev"], h["state"], h["ready"], h["status_code"]) == (
        running,
        newer,
        "reloading",
        False,
        503,
    ), "the old flows still run: rev is theirs until the new ones start"

    inside.join(20)
    assert answer["r"].json() == {"done": True}
    assert worker.wait_ready(rev=newer)["rev"] == newer


def test_rev_never_names_a_revision_that_cannot_start(nodered_factory, mongo_server, mongo_db):
    """Guards: /healthz or the status record (what the status command shows) naming a broken revision (a
    node type the image lacks; written to the database by hand, as the editor refuses such a deploy) as
    running, on a worker that falls back to the previous one and on a worker started after it."""
    editor = nodered_factory("editor")
    worker = nodered_factory("worker")
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    good = admin.deploy(marker_flow("good"))
    worker.wait_ready(rev=good)
    bad = good + 1
    db = mongo_server.client()[mongo_db]
    db.flows.insert_one(
        {
            "_id": bad,
            "rev": bad,
            "deployId": uuid.uuid4().hex,
            "flows": marker_flow("broken") + [BROKEN_NODE],
            "credentials": None,
            "savedAt": datetime.datetime.now(datetime.UTC),
            "savedBy": "operator",
        }
    )

    # Every answer on the way names the good revision (or none while swapping), never the bad one.
    seen: list[dict] = []
    h = wait_healthz(
        worker,
        lambda h: seen.append(h) or (h["latestRev"] == bad and h.get("failed") is not None and h["ready"]),
        timeout=60,
    )
    assert not [b for b in seen if b.get("rev") == bad], "rev named the broken revision"
    assert (h["rev"], h["latestRev"], h["state"], h["status_code"]) == (good, bad, "running", 200)
    assert h["failed"]["rev"] == bad
    # The status record comes to say the same (one written mid-swap may name no revision at all), and no
    # record on the way names the broken revision as running.
    deadline, records = time.monotonic() + 10, []
    while True:
        rec = db.instances.find_one({"_id": worker.instance_id}) or {}
        records.append(rec.get("rev"))
        if (rec.get("rev"), rec.get("latestRev"), rec.get("failedRev")) == (good, bad, bad):
            break
        assert time.monotonic() < deadline, rec
        time.sleep(0.05)
    assert bad not in records, records

    late = nodered_factory("worker")
    seen.clear()
    h = wait_healthz(late, lambda h: seen.append(h) or h.get("ready") is True, timeout=60)
    assert (h["rev"], h["latestRev"], h["state"]) == (good, bad, "running")
    assert not [b for b in seen if b.get("rev") == bad], "rev named the broken revision"
