"""Clients that give up on requests a worker holds while it swaps flows, through the router.

Guards: a request given up while held during a swap leaked the launcher's in-flight count, and from
then on every deploy waited the full drain timeout on that worker (small deploys took 5,058 / 5,030 /
5,017 ms instead of 31 / 12 / 11 ms after 9 abandoned GETs during one large deploy, each swap giving up
on its drain), until it restarted.
The launcher's own tests (nodered_image/test/gate.test.js) cover each way a request ends; this is the
same as a user meets it, behind nginx."""

from __future__ import annotations

import threading
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from local_stack.flows import endpoint, marker_flow

from .conftest import assert_every_worker_serves, base_flows

DRAIN_TIMEOUT = 5.0  # the storage's drainTimeoutMs: what a leaked count makes every swap wait


def drain_timeouts(worker) -> float:
    """The worker's count of swaps that went on before the requests inside its flows were answered
    (its own /metrics, on its own port)."""
    r = requests.get(worker.url + "/metrics", timeout=5)
    r.raise_for_status()
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if sample.name == "nodered_gate_drain_timeouts_total":
                return sample.value
    raise AssertionError(f"{worker.instance_id}: no nodered_gate_drain_timeouts_total in its /metrics")


def flows(marker: str, filler: int = 0) -> list[dict]:
    """The suite's flows, GET /marker, GET /slow (answers after 2 s), and `filler` function nodes that
    make the flows slow to stop and start (a large deploy)."""
    slow = endpoint(
        "tab-marker-marker", "slow", "/slow", "get", "setTimeout(() => node.send(msg), 2000);\nreturn null;"
    )
    for node in slow:
        node["y"] = 200
    nodes = base_flows() + marker_flow(marker) + slow
    nodes += [
        {"id": f"filler-{i}", "type": "function", "z": "tab-marker-marker", "func": f"msg.n = {i};\nreturn msg;",
         "outputs": 1, "x": 100, "y": 300 + i, "wires": [[]]}
        for i in range(filler)
    ]  # fmt: skip
    return nodes


def test_requests_abandoned_during_a_swap_do_not_slow_later_deploys(stack):
    admin = stack.admin()
    stack.deploy(flows("small-0"), admin=admin)

    # Clients that give up after 150 ms, one every 30 ms, from before a large deploy until after it.
    abandoned: list[float] = []
    done = threading.Event()
    started: list[threading.Thread] = []

    def give_up():
        try:
            requests.get(stack.api_url + "/marker", timeout=0.15)
        except requests.Timeout:
            abandoned.append(time.monotonic())  # nginx closes its connection to the worker

    def clients():
        while not done.is_set():
            started.append(threading.Thread(target=give_up, daemon=True))
            started[-1].start()
            done.wait(0.03)

    # A slow request inside the flows of every worker (round robin): each holds new requests for
    # about 2 s while it waits for its slow one during the swap, then stops the old flows and starts
    # 1,500 nodes. The clients give up on many of the requests held meanwhile.
    slow: list[requests.Response] = []
    inside = [
        threading.Thread(target=lambda: slow.append(requests.get(stack.api_url + "/slow", timeout=30)))
        for _ in stack.workers
    ]
    for thread in inside:
        thread.start()
    firing = threading.Thread(target=clients)
    firing.start()
    try:
        rev = admin.deploy(flows("large", filler=1500))
        stack.wait_workers(rev, timeout=60)
    finally:
        done.set()
        firing.join()
        for thread in started + inside:
            thread.join(30)
    assert [r.status_code for r in slow] == [200] * len(stack.workers), "requests inside the flows were answered"
    assert abandoned, "some requests were given up (the case under test happened)"

    # Later deploys reach every worker without waiting out the drain timeout: no swap on any worker
    # gives up on its drain (a leaked count would make each of them wait DRAIN_TIMEOUT and give up).
    before = {w.instance_id: drain_timeouts(w) for w in stack.workers}
    for i in range(1, 4):
        stack.deploy(flows(f"small-{i}"), admin=admin)
    after = {w.instance_id: drain_timeouts(w) for w in stack.workers}
    assert after == before, f"swaps that gave up waiting for a drain, per worker: {before} -> {after}"
    assert_every_worker_serves(stack)
