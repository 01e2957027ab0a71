"""Requests straight to one worker while it swaps flows for new deploys: none fails, none is cut off.

The launcher's and Node-RED's flow swap on its own, no router to retry anything; the same through
nginx with 3 workers: tests/e2e/test_deploys_under_load_through_router.py."""

import time

from local_stack import AdminClient, Load
from local_stack.flows import marker_flow, wait_marker


def describe(failed) -> list:
    return [(o.status, o.error) for o in failed[:5]]


def start(nodered_factory):
    editor = nodered_factory("editor")
    worker = nodered_factory("worker")
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    rev = admin.deploy(marker_flow("load-0"))
    worker.wait_ready(rev=rev)
    return admin, worker


def test_no_request_fails_while_a_worker_reloads(nodered_factory):
    admin, worker = start(nodered_factory)
    with Load(worker.node_url + "/marker", threads=3, keep_body=False) as load:
        for i in range(1, 21):
            admin.deploy(marker_flow(f"load-{i}"))
            wait_marker(worker.node_url, f"load-{i}", timeout=15)
    assert len(load.outcomes) > 100, "load kept running through the deploys"
    assert load.failures() == [], (
        f"{len(load.failures())} of {len(load.outcomes)} requests failed: {describe(load.failures())}"
    )


def test_no_request_fails_during_back_to_back_reloads(nodered_factory):
    admin, worker = start(nodered_factory)
    with Load(worker.node_url + "/marker", threads=3, keep_body=False) as load:
        time.sleep(0.3)
        for i in range(1, 16):  # a burst: reloads follow each other with no pause
            admin.deploy(marker_flow(f"burst-{i}"))
        wait_marker(worker.node_url, "burst-15", timeout=20)
        time.sleep(0.3)
    assert len(load.outcomes) > 50
    assert load.failures() == [], (
        f"{len(load.failures())} of {len(load.outcomes)} requests failed: {describe(load.failures())}"
    )
