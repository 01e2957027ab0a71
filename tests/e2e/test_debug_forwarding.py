"""A worker's debug output reaches the editor's debug sidebar: what an open editor receives on its
authenticated /comms websocket through the router, marked with the worker it came from.

Guards: requests served by workers produced nothing in the editor's sidebar (only the editor's own
flows did), node.error on a worker was visible only in that worker's stdout, and a flood of debug
messages could neither be bounded nor seen."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from local_stack.comms import EditorComms
from local_stack.debug_flows import FLOOD_NODE, PROBE_NODE, TAB, debug_flow
from local_stack.flows import function_node

FLOOD = 10_000


@pytest.fixture(scope="module")
def debug_stack(own_stack):
    own_stack.deploy(debug_flow())
    return own_stack


@pytest.fixture
def comms(debug_stack):
    admin = debug_stack.admin()
    with EditorComms(debug_stack.url, admin.token) as c:
        yield c


def tag() -> str:
    return uuid.uuid4().hex[:10]


def get(worker, path: str) -> requests.Response:
    r = requests.get(worker.node_url + path, timeout=10)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r


def test_debug_node_on_a_worker_shows_in_the_editor_marked_with_that_worker(debug_stack, comms):
    worker = debug_stack.workers[1]
    t = tag()
    get(worker, f"/dbg/probe/{t}")
    # (How fast: bench/debug_forwarding.py measures the delivery time; here only that it arrives.)
    [msg] = comms.wait_for(lambda ms: [m for m in ms if t in str(m.get("msg"))], timeout=10, what=f"debug {t}")
    # The sidebar finds the node by id (click shows it in the flow), shows the instance (editor plugin).
    assert (msg["id"], msg["name"], msg["property"]) == (PROBE_NODE, "probe", "payload")
    assert (msg["instance"], msg["role"]) == (worker.instance_id, "worker")
    assert msg["format"] == "Object" and f'"tag":"{t}"' in msg["msg"]
    # Exactly once: only the worker that served the request ran the debug node.
    assert len(comms.debug(lambda d: t in str(d.get("msg")))) == 1


def test_node_error_and_warning_on_a_worker_arrive_as_error_and_warning(debug_stack, comms):
    worker = debug_stack.workers[0]
    t = tag()
    get(worker, f"/dbg/error/{t}")
    found = comms.wait_for(
        lambda ms: (
            [m for m in ms if m.get("msg") == f"failed {t}"] and [m for m in ms if m.get("msg") == f"warned {t}"]
        ),
        timeout=10,
        what=f"error and warning {t}",
    )
    assert found
    [error] = comms.debug(lambda d: d.get("msg") == f"failed {t}")
    [warning] = comms.debug(lambda d: d.get("msg") == f"warned {t}")
    # What the sidebar shows as "function : (error)" / "(warn)" for that node.
    assert (error["level"], error["type"], error["id"]) == (20, "function", "dbg-error-fn")
    assert (warning["level"], warning["type"]) == (30, "function")
    assert error["instance"] == warning["instance"] == worker.instance_id


def test_system_console_debug_stays_in_the_workers_log(debug_stack, comms):
    worker = debug_stack.workers[2]
    quiet, after = tag(), tag()
    get(worker, f"/dbg/console/{quiet}")
    get(worker, f"/dbg/probe/{after}")
    # One worker's messages arrive in order: once the later one is here, the earlier would be too.
    comms.wait_for(lambda ms: [m for m in ms if after in str(m.get("msg"))], timeout=10, what=f"debug {after}")
    assert comms.debug(lambda d: quiet in str(d.get("msg"))) == []
    deadline = time.monotonic() + 10
    while quiet not in worker.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert quiet in worker.log_text()


def dropped_total(worker) -> float:
    text = requests.get(worker.url + "/metrics", timeout=5).text
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        if f.name == "nodered_debug_messages_dropped"
        for s in f.samples
        if s.name.endswith("_total")
    )


def test_flood_on_one_worker_gives_one_dropped_notice_and_leaves_the_others_alone(debug_stack, comms):
    flooded, *others = debug_stack.workers
    dropped_before = dropped_total(flooded)
    start = len(comms.messages)
    tags = {w.instance_id: [] for w in others}
    errors: list[str] = []

    # Requests on the other workers while the first one floods: all answered, their debug all shown.
    def other_traffic():
        for _ in range(20):
            for w in others:
                t = tag()
                try:
                    r = requests.get(w.node_url + f"/dbg/probe/{t}", timeout=10)
                    if r.status_code != 200:
                        errors.append(f"{w.instance_id}: {r.status_code}")
                except requests.RequestException as exc:
                    errors.append(f"{w.instance_id}: {exc}")
                tags[w.instance_id].append(t)
            time.sleep(0.1)  # pacing: about 10 requests a second per worker, for 2 s

    traffic = threading.Thread(target=other_traffic)
    traffic.start()
    time.sleep(0.3)  # pacing: the flood lands in the middle of the other workers' traffic
    flood = requests.get(flooded.node_url + f"/dbg/flood/{FLOOD}", timeout=30)
    assert flood.status_code == 200
    traffic.join(60)
    assert errors == []

    def flood_msgs(ms):
        return [m for m in ms[start:] if m.get("instance") == flooded.instance_id and m.get("id") == FLOOD_NODE]

    def notices(ms):
        return [m for m in ms[start:] if m.get("instance") == flooded.instance_id and "dropped" in m]

    # Every flood message is accounted for: shown, or counted in the notice.
    comms.wait_for(
        lambda ms: notices(ms) and len(flood_msgs(ms)) + sum(n["dropped"] for n in notices(ms)) >= FLOOD,
        timeout=30,
        what="the dropped notice",
    )
    ms = comms.debug()
    [notice] = notices(ms)
    shown = len(flood_msgs(ms))
    assert shown + notice["dropped"] == FLOOD
    assert 0 < shown < FLOOD / 10, f"{shown} of {FLOOD} shown: the rate limit did not apply"
    assert f"{notice['dropped']} debug messages of {flooded.instance_id} dropped" in notice["msg"]
    assert notice["level"] == 30
    assert dropped_total(flooded) - dropped_before == notice["dropped"]

    # The other workers' own messages were all shown: the flood used only its worker's budget.
    for w in others:
        for t in tags[w.instance_id]:
            comms.wait_for(
                lambda ms, t=t: [m for m in ms if t in str(m.get("msg"))], timeout=10, what=f"{w.instance_id} {t}"
            )


def completion_counter() -> list[dict]:
    """A complete node scoped to the flood's debug node, counting into the worker's memory context, and
    GET /dbg/completed answering that count."""
    return [
        {"id": "dbg-complete", "type": "complete", "z": TAB, "name": "", "scope": [FLOOD_NODE], "uncaught": False,
         "x": 120, "y": 700, "wires": [["dbg-complete-count"]]},
        function_node("dbg-complete-count", TAB, "flow.set('completed', (flow.get('completed', 'memory') || 0) + 1, 'memory');\nreturn null;", [], y=700),
        {"id": "dbg-completed-in", "type": "http in", "z": TAB, "name": "", "url": "/dbg/completed", "method": "get",
         "upload": False, "swaggerDoc": "", "x": 120, "y": 760, "wires": [["dbg-completed-fn"]]},
        function_node("dbg-completed-fn", TAB, "msg.payload = {completed: flow.get('completed', 'memory') || 0};\nreturn msg;", [["dbg-completed-out"]], y=760),
        {"id": "dbg-completed-out", "type": "http response", "z": TAB, "name": "", "statusCode": "", "headers": {},
         "x": 660, "y": 760, "wires": []},
    ]  # fmt: skip


def test_messages_dropped_before_a_flooded_debug_node_still_complete(debug_stack):
    """A worker drops what a sidebar-only debug node would publish over its budget before the node
    formats it; each such message must still complete as the debug node would have completed it, or
    a complete node scoped to the debug node would miss every dropped message."""
    debug_stack.deploy(debug_flow() + completion_counter())
    worker = debug_stack.workers[0]
    dropped_before = dropped_total(worker)
    assert requests.get(worker.node_url + "/dbg/flood/3000", timeout=30).status_code == 200

    deadline = time.monotonic() + 20
    completed = 0
    while time.monotonic() < deadline:
        completed = requests.get(worker.node_url + "/dbg/completed", timeout=5).json()["completed"]
        if completed >= 3000:
            break
        time.sleep(0.1)  # polling the count
    assert completed == 3000
    assert dropped_total(worker) - dropped_before > 2000, "the flood was over the budget: most of it dropped"
