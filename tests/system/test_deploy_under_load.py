"""Requests to a worker while it swaps flows for new deploys: none fails, none is cut off."""
import threading
import time

import requests

from tests.harness.admin import AdminClient
from tests.harness.flows import marker_flow, wait_marker


def test_no_request_fails_while_a_worker_reloads(nodered_factory):
    editor = nodered_factory("editor")
    worker = nodered_factory("worker")
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    rev = admin.deploy(marker_flow("load-0"))
    worker.wait_ready(rev=rev)

    stop = threading.Event()
    results = []

    def hammer():
        s = requests.Session()
        while not stop.is_set():
            try:
                r = s.get(worker.node_url + "/marker", timeout=10)
                results.append(r.status_code)
            except requests.RequestException as e:
                results.append(type(e).__name__)

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(1, 21):
            admin.deploy(marker_flow(f"load-{i}"))
            wait_marker(worker.node_url, f"load-{i}", timeout=15)
    finally:
        stop.set()
        for t in threads:
            t.join()
    failures = [r for r in results if r != 200]
    assert len(results) > 100, "load kept running through the deploys"
    assert failures == [], f"{len(failures)} of {len(results)} requests failed: {sorted(set(map(str, failures)))}"
