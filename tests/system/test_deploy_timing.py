"""A deploy's way from the editor to each worker, in parts: in the worker's log line, its status record
in `instances` and its /metrics."""

import re
import time

import requests

from local_stack.flows import marker_flow, wait_marker

PARTS = ("editorMs", "notifyMs", "loadMs", "swapMs", "totalMs")


def wait_last_sync(db, instance_id: str, rev: int, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = db.instances.find_one({"_id": instance_id}) or {}
        if (doc.get("lastSync") or {}).get("rev") == rev:
            return doc["lastSync"]
        time.sleep(0.1)
    raise AssertionError(f"{instance_id}: no lastSync for revision {rev}: {doc.get('lastSync')}")


def test_each_worker_reports_where_a_deploys_time_went(nodered_factory, admin, mongo_server, mongo_db):
    """Guards: a slow deploy could not be pinned on the editor, the database, the notification or the
    reload; an operator sees the breakdown per deploy on every worker (log, status record, /metrics)."""
    workers = [nodered_factory("worker") for _ in range(2)]
    for w in workers:
        w.wait_ready()
    admin.deploy(marker_flow("first"))
    rev = admin.deploy(marker_flow("second"))
    db = mongo_server.client()[mongo_db]
    doc = db.flows.find_one({"_id": rev})
    assert doc["deployStartedAt"] <= doc["savedAt"], "the revision records when the editor's deploy call began"
    for w in workers:
        wait_marker(w.node_url, "second")
        sync = wait_last_sync(db, w.instance_id, rev)
        assert all(isinstance(sync[p], int) and sync[p] >= 0 for p in PARTS), sync
        assert sync["totalMs"] >= sync["notifyMs"] + sync["swapMs"], sync
        line = re.search(
            rf"running flows revision {rev} \(was \d+;.*deploy -> serving (\d+) ms: editor \d+, "
            r"database \+ notification \d+, load \d+, swap \d+",
            w.log_text(),
        )
        assert line, w.log_tail()
        metrics = requests.get(w.url + "/metrics", timeout=5).text
        for phase in ("editor", "notify", "load", "swap"):
            m = re.search(rf'nodered_flows_sync_phase_seconds_count{{[^}}]*phase="{phase}"[^}}]*}} (\d+)', metrics)
            assert m and int(m.group(1)) >= 1, (phase, metrics[:2000])
