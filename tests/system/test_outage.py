"""MongoDB restarted: workers keep serving what they run, then catch up with a deploy made after."""

import time

import requests

from local_stack import AdminClient
from local_stack.flows import marker_flow, wait_marker


def test_database_restart_workers_keep_serving_then_catch_up(nodered_factory, own_mongo):
    editor = nodered_factory("editor", mongo_url=own_mongo.url)
    workers = [nodered_factory("worker", mongo_url=own_mongo.url) for _ in range(2)]
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    admin.login()
    rev = admin.deploy(marker_flow("before"))
    for w in workers:
        w.wait_ready(rev=rev)

    own_mongo.stop()
    failures = 0
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:  # the database is down for ~6 s
        for w in workers:
            r = requests.get(w.node_url + "/marker", timeout=5)
            if r.status_code != 200 or r.json()["marker"] != "before":
                failures += 1
        time.sleep(0.1)
    assert failures == 0, "workers kept serving their flows while MongoDB was down"
    h = workers[0].healthz()
    assert (h["status_code"], h["ready"], h["dbReachable"]) == (200, True, False), (
        "still ready (it runs the newest revision it knows), and says the database is unreachable"
    )
    own_mongo.start()

    rev2 = admin.deploy(marker_flow("after"))
    assert rev2 == rev + 1
    for w in workers:
        wait_marker(w.node_url, "after", timeout=30)
        w.wait_ready(rev=rev2, timeout=30)
    for w in workers:
        log = w.log_text()
        assert "lost connection to MongoDB" in log and "MongoDB reachable again" in log


def test_worker_started_while_database_is_down_waits_and_never_serves_empty_flows(nodered_factory, own_mongo, mongo_db):
    editor = nodered_factory("editor", mongo_url=own_mongo.url)
    editor.wait_ready()
    rev = AdminClient(editor.url, editor.editor_user, editor.editor_password).deploy(marker_flow("stored"))
    editor.stop()
    own_mongo.stop()

    worker = nodered_factory("worker", mongo_url=own_mongo.url)
    deadline = time.monotonic() + 20
    h = None
    while time.monotonic() < deadline:
        try:
            h = worker.healthz()
            if "waiting for MongoDB" in worker.log_text():
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    assert h is not None and h["status_code"] == 503 and h["state"] == "waiting-for-db" and h["ready"] is False
    r = requests.get(worker.node_url + "/marker", timeout=5)
    assert (r.status_code, r.headers.get("Retry-After")) == (503, "1"), (
        "not started: a direct client gets 503, never 404 (the router's requests are closed and resent)"
    )
    deadline = time.monotonic() + 20
    while worker.log_text().count("waiting for MongoDB") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert worker.log_text().count("waiting for MongoDB") >= 2, "a log line per attempt"
    assert worker.healthz()["status_code"] == 503

    own_mongo.start()
    worker.wait_ready(rev=rev, timeout=30)
    wait_marker(worker.node_url, "stored", timeout=5)
