"""Every deploy reaches every worker: one after another, in bursts, and after workers join late."""

import time

from local_stack import AdminClient
from local_stack.flows import marker_flow, served_marker, wait_marker


def test_fifty_consecutive_deploys_each_served_by_every_worker(nodered_factory):
    editor = nodered_factory("editor")
    workers = [nodered_factory("worker") for _ in range(2)]
    editor.wait_ready()
    for w in workers:
        w.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    missed = []
    revs = []
    for i in range(1, 51):
        marker = f"deploy-{i}"
        revs.append(admin.deploy(marker_flow(marker, seq=i)))
        for w in workers:
            try:
                wait_marker(w.node_url, marker, timeout=10)
            except TimeoutError:
                missed.append((i, w.instance_id, served_marker(w.node_url)))
    assert missed == []
    assert revs == list(range(1, 51)), "one revision per deploy, in order"
    for w in workers:
        h = w.healthz()
        assert (h["status_code"], h["rev"], h["latestRev"], h["state"]) == (200, 50, 50, "running")


def test_burst_of_deploys_ends_on_the_newest_everywhere(nodered_factory):
    editor = nodered_factory("editor")
    workers = [nodered_factory("worker") for _ in range(2)]
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    for i in range(1, 16):
        last = admin.deploy(marker_flow(f"burst-{i}", seq=i))
    for w in workers:
        w.wait_ready(rev=last, timeout=30)
        assert served_marker(w.node_url) == "burst-15"
    # and stays there: nothing older is loaded afterwards
    time.sleep(1.0)
    for w in workers:
        assert served_marker(w.node_url) == "burst-15"
        assert w.healthz()["rev"] == last


def test_a_frozen_worker_catches_up_with_the_newest_when_it_resumes(nodered_factory):
    editor = nodered_factory("editor")
    worker = nodered_factory("worker", extra_env={"NODE_RED_SYNC_CHECK_SECONDS": "600"})
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    rev = admin.deploy(marker_flow("before-freeze"))
    worker.wait_ready(rev=rev)
    worker.pause()
    try:
        for i in range(1, 11):
            last = admin.deploy(marker_flow(f"frozen-{i}"))
    finally:
        worker.resume()
    wait_marker(worker.node_url, "frozen-10", timeout=15)
    assert worker.wait_ready(rev=last)["rev"] == last
    seen = [served_marker(worker.node_url) for _ in range(20)]
    assert seen == ["frozen-10"] * 20, "never back to an older revision"
