"""Flows that show how a stack of several instances behaves as one Node-RED: context and run-once tabs.

counter_flow: GET <path> adds one to a global counter in a context store and answers the new count and
the instance that answered. context_flow: GET/POST <path> read and write any context key, in any store
(or the default one), asynchronously or synchronously. atomic_flow: POST <path> runs one of the shared
store's atomic operations from a function node, through the nodered-scale-shared module;
shared_atomic_node_flow: the same through the shared-atomic palette node. ticker_flow: a timer (and an "inject once")
whose every run POSTs {"kind", "instance"} to a local_stack.Collector; in a run-once tab
(CLUSTER_RUN_ON=leader) unless told otherwise.
"""

from __future__ import annotations

import json
from pathlib import Path

from .flows import endpoint, function_node, http_request_node

RUN_ON = "CLUSTER_RUN_ON"


def tab(tab_id: str, label: str, run_on: str | None = None) -> dict:
    """A tab; run_on "leader" makes it a run-once tab."""
    env = [{"name": RUN_ON, "value": run_on, "type": "str"}] if run_on else []
    return {"id": tab_id, "type": "tab", "label": label, "disabled": False, "info": "", "env": env}


def counter_flow(
    path: str = "/count", store: str | None = "shared", tab_id: str = "tab-counter", key: str = "counter"
) -> list[dict]:
    """GET <path>: count = global `key` + 1 in `store` (None: the default store), answered as
    {"count": n, "instance": <NODE_RED_INSTANCE_ID>}; 500 {"error"} when the store fails."""
    store_arg = f"{json.dumps(store)}, " if store else ""
    func = f"""
const fail = (err) => {{ msg.statusCode = 500; msg.payload = {{error: String(err && err.message || err)}}; node.send(msg); }};
global.get({json.dumps(key)}, {store_arg}(err, value) => {{
    if (err) return fail(err);
    const count = (value || 0) + 1;
    global.set({json.dumps(key)}, count, {store_arg}(err) => {{
        if (err) return fail(err);
        msg.payload = {{count, instance: env.get("NODE_RED_INSTANCE_ID")}};
        node.send(msg);
    }});
}});
return null;"""
    return [tab(tab_id, "counter")] + endpoint(tab_id, "counter", path, "get", func)


def context_flow(path: str = "/ctx", tab_id: str = "tab-ctx") -> list[dict]:
    """GET <path>?key=&store=&scope=global|flow[&sync=1] answers {"value", "found", "instance"} (value
    null when not found); POST <path> {"key", "value", "store", "scope"} sets it and answers {"ok"}.
    No store: the default store. sync=1 reads without a callback (only a synchronous store allows it).
    Errors answer 500 {"error"}."""
    common = """
const answer = (err, body) => {
    if (err) { msg.statusCode = 500; msg.payload = {error: String(err && err.message || err)}; }
    else msg.payload = Object.assign(body, {instance: env.get("NODE_RED_INSTANCE_ID")});
    node.send(msg);
};
const pick = (o) => o.scope === "flow" ? flow : global;
"""
    get = (
        common
        + """
const q = msg.req.query;
const ctx = pick(q);
const found = (err, value) => answer(err, {value: value === undefined ? null : value, found: value !== undefined});
if (q.sync) {
    try { found(null, q.store ? ctx.get(q.key, q.store) : ctx.get(q.key)); } catch (err) { answer(err); }
} else if (q.store) ctx.get(q.key, q.store, found);
else ctx.get(q.key, found);
return null;"""
    )
    post = (
        common
        + """
const b = msg.payload;
const ctx = pick(b);
const done = (err) => answer(err, {ok: true});
if (b.store) ctx.set(b.key, b.value, b.store, done);
else ctx.set(b.key, b.value, done);
return null;"""
    )
    nodes = [tab(tab_id, "context")] + endpoint(tab_id, "ctx-get", path, "get", get)
    for n in endpoint(tab_id, "ctx-post", path, "post", post):
        n["y"] = 160
        nodes.append(n)
    return nodes


def atomic_flow(path: str = "/atomic", tab_id: str = "tab-atomic") -> list[dict]:
    """POST <path> {"op", ...} runs, in a function node whose Setup tab adds nodered-scale-shared as
    `shared`, and answers {..., "instance"} (500 {"error"} when it fails):
      incr {key, plain?}: {n: shared.incr(key)}; with `plain`, also a get/set counter: {plain: its new value}
      casIncr {key}: reads key, {ok: shared.compareAndSet(key, read, read + 1)}
      lock {key, ttl}: {token}   unlock {key, token}: {ok}   get {key}: {value} (global.get, shared)
      lockedIncr {key, counter}: under lock(key, 30), a get/set counter + 1: {ok: granted, unlocked}"""
    func = """
const b = msg.payload || {};
const get = (k) => new Promise((resolve, reject) => global.get(k, "shared", (e, v) => e ? reject(e) : resolve(v)));
const set = (k, v) => new Promise((resolve, reject) => global.set(k, v, "shared", (e) => e ? reject(e) : resolve()));
const plus1 = async (k) => { const v = ((await get(k)) || 0) + 1; await set(k, v); return v; };
const ops = {
    incr: async () => ({n: await shared.incr(b.key), plain: b.plain ? await plus1(b.plain) : null}),
    casIncr: async () => { const seen = await get(b.key); return {ok: await shared.compareAndSet(b.key, seen, (seen || 0) + 1)}; },
    lock: async () => ({token: await shared.lock(b.key, b.ttl)}),
    unlock: async () => ({ok: await shared.unlock(b.key, b.token)}),
    get: async () => ({value: await get(b.key)}),
    lockedIncr: async () => {
        const token = await shared.lock(b.key, 30);
        if (token === null) return {ok: false};
        await plus1(b.counter);
        return {ok: true, unlocked: await shared.unlock(b.key, token)};
    },
};
try {
    msg.payload = Object.assign(await ops[b.op](), {instance: env.get("NODE_RED_INSTANCE_ID")});
} catch (err) {
    msg.statusCode = 500;
    msg.payload = {error: String(err && err.message || err)};
}
return msg;"""
    nodes = [tab(tab_id, "atomic")] + endpoint(tab_id, "atomic", path, "post", func)
    for n in nodes:
        if n["type"] == "function":
            n["libs"] = [{"var": "shared", "module": "nodered-scale-shared"}]
    return nodes


# The flow of the shared-atomic palette node's tests, one file for the launcher's JavaScript test and the
# end-to-end tests (its tab's info says what each endpoint does).
SHARED_ATOMIC_FLOW = Path(__file__).resolve().parents[1] / "nodered_image" / "test" / "shared_atomic_flow.json"


def shared_atomic_node_flow() -> list[dict]:
    """POST /atomic-node/<endpoint> runs a shared-atomic palette node (no function node) and answers
    {"output": 1|2, "payload", "lockToken", "instance"}, 500 {"error", "source"} from the tab's catch node.
    incr {key}; create {key, value}; lock {key, ttl}; unlock {key, token}; get {key}: {"value"};
    locked: lock "mutex" -> a get/set counter "guarded" + 1 -> unlock (output 1: unlocked, 2: not granted
    (payload null) or unlock refused (false)); bad-operation and empty-key: misconfigured nodes."""
    return json.loads(SHARED_ATOMIC_FLOW.read_text())


def _report(node_id: str, tab_id: str, url: str, kind: str, y: int, wires_from: list[dict]) -> list[dict]:
    """function (body {"kind", "instance", "t"}) -> http request POST <url>/<kind>."""
    func = (
        f'msg.payload = {{kind: {json.dumps(kind)}, instance: env.get("NODE_RED_INSTANCE_ID"), t: Date.now()}};\n'
        'msg.headers = {"content-type": "application/json"};\nreturn msg;'
    )
    for n in wires_from:
        n["wires"] = [[f"{node_id}-fn"]]
    return [
        function_node(f"{node_id}-fn", tab_id, func, [[f"{node_id}-post"]], name=f"report {kind}", x=320, y=y),
        http_request_node(f"{node_id}-post", tab_id, [[]], method="POST", url=f"{url}/{kind}", x=520, y=y),
    ]


def _inject(node_id: str, tab_id: str, y: int, repeat: str = "", once: bool = False) -> dict:
    return {
        "id": node_id,
        "type": "inject",
        "z": tab_id,
        "name": "",
        "props": [{"p": "payload"}],
        "repeat": repeat,
        "crontab": "",
        "once": once,
        "onceDelay": 0.1,
        "topic": "",
        "payload": "",
        "payloadType": "date",
        "x": 120,
        "y": y,
        "wires": [[]],
    }


def ticker_flow(
    collector_url: str,
    interval_seconds: float = 1,
    run_on: str | None = "leader",
    tab_id: str = "tab-ticker",
    label: str = "ticker",
    prefix: str = "",
) -> list[dict]:
    """A tab with a timer every interval_seconds (kind "<prefix>tick") and an "inject once at start"
    (kind "<prefix>once"), each reported to the collector with the instance that ran it."""
    timer = _inject(f"{tab_id}-timer", tab_id, 80, repeat=str(interval_seconds))
    once = _inject(f"{tab_id}-once", tab_id, 160, once=True)
    return [
        tab(tab_id, label, run_on),
        timer,
        once,
        *_report(f"{tab_id}-tick", tab_id, collector_url, f"{prefix}tick", 80, [timer]),
        *_report(f"{tab_id}-started", tab_id, collector_url, f"{prefix}once", 160, [once]),
    ]
