"""Shared-context sets from flows on several workers at once: nested keys of one top-level key, and
`__proto__` in values and keys, as clients reach them over HTTP.

Guards: concurrent nested sets of one key from 24 clients over 3 workers of which about one in ten failed
with "kept changing under 20 attempts"; a value `{"__proto__": {...}, "b": 1}` that read back as
`{"b": 1}`, and a key `a.__proto__.polluted` acknowledged on set that read back as missing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from local_stack import AdminClient
from local_stack.cluster_flows import context_flow
from local_stack.flows import endpoint

CLIENTS = 24
SETS_PER_CLIENT = 10


def probe_flow() -> list[dict]:
    """GET /polluted: what a fresh object inherits on this instance (nothing, unless a prototype was polluted).
    GET /ctx-json?key=: the shared value as JSON text, as the get callback had it: Node-RED's copy of a
    message object (node.send) would turn an own `__proto__` key into the copy's prototype, with any store."""
    polluted = 'msg.payload = {polluted: typeof ({}).polluted, instance: env.get("NODE_RED_INSTANCE_ID")};\nreturn msg;'
    as_json = """
global.get(msg.req.query.key, "shared", (err, value) => {
    msg.payload = err ? JSON.stringify({error: err.message}) : JSON.stringify({value: value === undefined ? null : value});
    node.send(msg);
});
return null;"""
    nodes = [
        {"id": "tab-probe", "type": "tab", "label": "probe"},
        *endpoint("tab-probe", "probe", "/polluted", "get", polluted),
    ]
    for n in endpoint("tab-probe", "ctx-json", "/ctx-json", "get", as_json):
        n["y"] = 160
        nodes.append(n)
    return nodes


@pytest.fixture
def workers(nodered_factory):
    editor = nodered_factory("editor")
    started = [nodered_factory("worker") for _ in range(3)]
    editor.wait_ready()
    rev = AdminClient(editor.url, editor.editor_user, editor.editor_password).deploy(context_flow() + probe_flow())
    for w in started:
        w.wait_ready(rev=rev)
    return started


def ctx_set(worker, key: str, value) -> requests.Response:
    return requests.post(worker.node_url + "/ctx", json={"key": key, "value": value, "store": "shared"}, timeout=15)


def ctx_get(worker, key: str):
    r = requests.get(worker.node_url + "/ctx-json", params={"key": key}, timeout=15)
    assert r.status_code == 200, r.text
    return r.json()["value"]


def test_concurrent_nested_sets_of_one_key_from_24_clients_over_3_workers_all_land(workers):
    def client(c: int) -> list[str]:
        failures = []
        with requests.Session() as s:
            for j in range(SETS_PER_CLIENT):
                w = workers[(c + j) % len(workers)]
                r = s.post(
                    w.node_url + "/ctx",
                    json={"key": f"orders.c{c}.o{j}", "value": {"client": c, "n": j}, "store": "shared"},
                    timeout=15,
                )
                if r.status_code != 200:
                    failures.append(f"c{c}.o{j} on {w.instance_id}: {r.status_code} {r.text}")
        return failures

    with ThreadPoolExecutor(CLIENTS) as pool:
        failures = [f for result in pool.map(client, range(CLIENTS)) for f in result]
    assert failures == [], f"{len(failures)} of {CLIENTS * SETS_PER_CLIENT} nested sets failed, e.g. {failures[:3]}"
    orders = ctx_get(workers[0], "orders")
    expected = {f"c{c}": {f"o{j}": {"client": c, "n": j} for j in range(SETS_PER_CLIENT)} for c in range(CLIENTS)}
    assert orders == expected


def test_proto_in_values_and_keys_round_trips_exactly_and_pollutes_nothing(workers):
    a, b, c = workers
    value = {"__proto__": {"polluted": "value"}, "b": 1}
    assert ctx_set(a, "payload", value).status_code == 200
    assert ctx_get(b, "payload") == value

    assert ctx_set(a, "a.__proto__.polluted", "key").status_code == 200
    assert ctx_get(b, "a.__proto__.polluted") == "key"
    assert ctx_get(c, "a") == {"__proto__": {"polluted": "key"}}

    assert ctx_set(b, "__proto__.polluted", "top-level key").status_code == 200
    assert ctx_get(c, "__proto__") == {"polluted": "top-level key"}

    for w in workers:
        r = requests.get(w.node_url + "/polluted", timeout=10)
        assert r.json()["polluted"] == "undefined", f"a prototype was polluted on {w.instance_id}"
