"""A "modified flows" deploy restarts only the changed flows on every worker: an untouched tab keeps its
function context, its open websocket connections and its requests in flight."""

import re
import threading
import time

import requests
import websocket

from local_stack.flows import endpoint, function_node, tab, wait_marker

# GET /slow answers once GET /release was called on the same worker ("done"), or after SLOW_CAP_MS
# ("timed out"), below the 5 s drain timeout: a swap that waited for it would see it answered first.
SLOW_CAP_MS = 4000
SLOW = f"""const until = Date.now() + {SLOW_CAP_MS};
const poll = () => {{
    const released = global.get('release') === true;
    if (!released && Date.now() < until) return setTimeout(poll, 20);
    msg.payload = {{slow: released ? 'done' : 'timed out'}};
    node.send(msg);
}};
poll();
return null;"""


def counter_tab() -> list[dict]:
    """Tab A: GET /count counts in the function node's context, GET /slow (held until GET /release), a
    websocket echo on /ws/echo."""
    nodes = [tab("tab-a", "A: counter and websocket")]
    count = "const n = (context.get('n') || 0) + 1;\ncontext.set('n', n);\nmsg.payload = {n, started: context.get('started')};\nreturn msg;"
    nodes += endpoint("tab-a", "a-count", "/count", "get", count)
    # Set by the node's On Start code: it changes whenever the node is restarted.
    nodes[2]["initialize"] = "context.set('started', Math.random());"
    nodes += endpoint("tab-a", "a-slow", "/slow", "get", SLOW)
    nodes += endpoint("tab-a", "a-release", "/release", "get", "global.set('release', true);\nreturn msg;")
    nodes += [
        {"id": "ws-listener", "type": "websocket-listener", "path": "/ws/echo", "wholemsg": "false"},
        {
            "id": "a-ws-in",
            "type": "websocket in",
            "z": "tab-a",
            "name": "",
            "server": "ws-listener",
            "client": "",
            "x": 120,
            "y": 200,
            "wires": [["a-ws-fn"]],
        },
        function_node("a-ws-fn", "tab-a", "msg.payload = 'echo:' + msg.payload;\nreturn msg;", [["a-ws-out"]], y=200),
        {
            "id": "a-ws-out",
            "type": "websocket out",
            "z": "tab-a",
            "name": "",
            "server": "ws-listener",
            "client": "",
            "x": 480,
            "y": 200,
            "wires": [],
        },
    ]
    return nodes


def marker_tab(marker: str) -> list[dict]:
    """Tab B: GET /b answers {"marker": marker}."""
    return [tab("tab-b", "B: marker")] + endpoint(
        "tab-b", "b", "/b", "get", f"msg.payload = {{marker: '{marker}'}};\nreturn msg;"
    )


def count(worker) -> tuple[int, float]:
    """(calls counted in the function node's context, the value its On Start code set)."""
    r = requests.get(worker.node_url + "/count", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["n"], r.json()["started"]


def test_modified_flows_deploy_keeps_untouched_tab_context_and_websockets_on_every_worker(nodered_factory, admin):
    """Guards: a one-tab change restarted every flow on every worker, resetting the untouched tabs'
    context, closing their websocket clients and cutting their requests in flight."""
    workers = [nodered_factory("worker") for _ in range(2)]
    for w in workers:
        w.wait_ready()
    rev = admin.deploy(counter_tab() + marker_tab("one"))
    for w in workers:
        w.wait_ready(rev=rev)
        wait_marker(w.node_url, "one", path="/b")
        assert [count(w)[0] for _ in range(3)] == [1, 2, 3]
    started = {w.instance_id: count(w)[1] for w in workers}
    sockets = []
    for w in workers:
        ws = websocket.create_connection(f"ws://127.0.0.1:{w.port}{w.http_node_root}/ws/echo", timeout=10)
        ws.send("hello")
        assert ws.recv() == "echo:hello"
        sockets.append(ws)
    slow: dict = {}
    threads = [
        threading.Thread(
            target=lambda w=w: slow.__setitem__(w.instance_id, requests.get(w.node_url + "/slow", timeout=30))
        )
        for w in workers
    ]
    for t in threads:
        t.start()
    time.sleep(0.5)  # the slow requests are inside tab A's flows

    rev2 = admin.deploy(counter_tab() + marker_tab("two"), deployment_type="flows")
    for w in workers:
        wait_marker(w.node_url, "two", path="/b", timeout=10)
        # /slow is still inside tab A (it waits for /release): the swap of tab B did not wait for it.
        assert w.instance_id not in slow, "the swap of tab B waited for a request inside tab A"
    for w in workers:
        assert requests.get(w.node_url + "/release", timeout=5).status_code == 200
    for w, ws in zip(workers, sockets, strict=True):
        w.wait_ready(rev=rev2)
        assert count(w) == (5, started[w.instance_id]), "tab A's function node kept running, its context intact"
        ws.send("again")
        assert ws.recv() == "echo:again", "the websocket to tab A stayed open"
        ws.close()
        assert re.search(
            rf"running flows revision {rev2} \(was {rev}; flows deploy: 1 of 2 flows restarted", w.log_text()
        )
    for t in threads:
        t.join()
    for w in workers:
        assert slow[w.instance_id].json() == {"slow": "done"}, "answered once released, not cut off"
