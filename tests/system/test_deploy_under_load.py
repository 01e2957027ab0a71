"""Requests to a worker while it swaps flows for new deploys: none fails, none is cut off."""
import threading
import time

import requests

from tests.harness.admin import AdminClient
from tests.harness.flows import marker_flow, wait_marker


class Load:
    """Threads sending GETs to one URL until stopped; every outcome kept (status code or error name)."""

    def __init__(self, url: str, threads: int = 3):
        self.url = url
        self.results: list = []
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def run(self):
        s = requests.Session()
        while not self.stop_event.is_set():
            try:
                self.results.append(s.get(self.url, timeout=5).status_code)
            except requests.RequestException as e:
                self.results.append(type(e).__name__)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for t in self.threads:
            t.join()

    def failures(self) -> list:
        return [r for r in self.results if r != 200]


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
    with Load(worker.node_url + "/marker") as load:
        for i in range(1, 21):
            admin.deploy(marker_flow(f"load-{i}"))
            wait_marker(worker.node_url, f"load-{i}", timeout=15)
    assert len(load.results) > 100, "load kept running through the deploys"
    assert load.failures() == [], f"{len(load.failures())} of {len(load.results)} requests failed"


def test_no_request_fails_during_back_to_back_reloads(nodered_factory):
    admin, worker = start(nodered_factory)
    with Load(worker.node_url + "/marker") as load:
        time.sleep(0.3)
        for i in range(1, 16):  # a burst: reloads follow each other with no pause
            admin.deploy(marker_flow(f"burst-{i}"))
        wait_marker(worker.node_url, "burst-15", timeout=20)
        time.sleep(0.3)
    assert len(load.results) > 50
    assert load.failures() == [], f"{len(load.failures())} of {len(load.results)} requests failed"
