"""Context and run-once tabs on a stack of real processes: what a context operation costs in the `shared`
store (MongoDB) against the `memory` store, and how long a run-once tab stops when its leader is killed.

Starts SecantusDB (or uses MONGO_TEST_URL), one editor and N workers (local_stack: nodered_image/'s start script).

1. Context get and set of a 1 KB value through a function node, straight to the workers (no router):
   - per request, one operation each: latency of GET <root>/bench?op=get|set&store=... against the same
     endpoint doing no context operation (op=none), so the difference is the operation's own cost;
   - in the flow: batches of sequential operations timed inside the function node (Date.now over the
     batch), the mean cost of one operation without any HTTP around it;
   - the same 1 KB get and set each timed alone inside a function node on one worker against the same
     operation by pymongo on the database server (same document, write concern and indexes; part 2's
     method); the server's own set with w: majority, with w: 1, and on a second server of the same kind
     with no change stream open.
2. The shared store's atomic operations (nodered-scale-shared) against the database server's own: get,
   set, incr, compareAndSet and lock of a number, each timed alone inside a function node on one worker
   (perf_hooks around the awaited operation), and the same operation sent by pymongo straight to the
   database server (same document shape, write concern and indexes), taking turns batch by batch: p50
   of each and their ratio.
3. Leader failover: a run-once tab (CLUSTER_RUN_ON=leader) whose "inject once" reports where it started;
   the leader is SIGKILLed `--kills` times (then restarted, as its container would be), and the time
   from the kill to the tab starting on another instance is measured.

Prints figures with the load average; asserts nothing.

    venv/bin/python -m bench.context_ops [--workers 3] [--requests 300] [--value 300] [--atomic 300] [--kills 10]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pymongo
import requests
from pymongo.collection import Collection, ReturnDocument
from pymongo.write_concern import WriteConcern

from local_stack import AdminClient, MongoServer, NodeRedInstance
from local_stack.cluster_flows import tab, ticker_flow
from local_stack.collector import Collector
from local_stack.flows import endpoint

from .sync_latency import percentile

# About 1 KB as JSON: what one context value holds in the measurement.
VALUE_1K = {"id": "order-42", "status": "paid", "items": [{"sku": f"sku-{i}", "qty": i} for i in range(8)]}
VALUE_1K["note"] = "x" * (1024 - len(json.dumps(VALUE_1K)) - 10)

BENCH_FUNC = f"""
const q = msg.req.query;
const n = Number(q.n || 1);
const store = q.store;
const value = {json.dumps(VALUE_1K)};
let done = 0;
const started = Date.now();
const next = (err) => {{
    if (err) {{ msg.statusCode = 500; msg.payload = {{error: String(err.message || err)}}; node.send(msg); return; }}
    if (done++ >= n) {{ msg.payload = {{n, ms: Date.now() - started}}; node.send(msg); return; }}
    if (q.op === "get") global.get("bench", store, next);
    else if (q.op === "set") global.set("bench", value, store, next);
    else next();
}};
next();
return null;
"""


ATOMIC_OPS = ["get", "set", "incr", "compareAndSet", "lock"]
# The 1 KB value's get and set, timed alone as the atomic operations are.
VALUE_OPS = ["get1k", "set1k"]

# GET <root>/atomic-bench?op=&n=: n sequential operations on one number, each timed alone: {"ms": [...]}.
# A lock is unlocked after each timed grant (untimed), so every lock is granted.
ATOMIC_FUNC = """
const q = msg.req.query;
const key = "atomic-bench-" + q.op;
const get = (k) => new Promise((resolve, reject) => global.get(k, "shared", (e, v) => e ? reject(e) : resolve(v)));
const set = (k, v) => new Promise((resolve, reject) => global.set(k, v, "shared", (e) => e ? reject(e) : resolve()));
let seen = await get(key);
const big = __VALUE_1K__;
const ms = [];
for (let i = 0; i < Number(q.n); i++) {
    const t0 = perf.performance.now();
    if (q.op === "get1k") await get("bench-1k");
    else if (q.op === "set1k") await set("bench-1k", big);
    else if (q.op === "get") await get(key);
    else if (q.op === "set") await set(key, i);
    else if (q.op === "incr") await shared.incr(key);
    else if (q.op === "compareAndSet") {
        const next = (seen || 0) + 1;
        if (!(await shared.compareAndSet(key, seen, next))) throw new Error("compareAndSet lost");
        seen = next;
    } else if (q.op === "lock") {
        const token = await shared.lock(key, 30);
        ms.push(perf.performance.now() - t0);
        await shared.unlock(key, token);
        continue;
    }
    ms.push(perf.performance.now() - t0);
}
msg.payload = {ms};
return msg;
""".replace("__VALUE_1K__", json.dumps(VALUE_1K))


def bench_flow() -> list[dict]:
    nodes = [tab("tab-bench", "context bench")] + endpoint("tab-bench", "bench", "/bench", "get", BENCH_FUNC)
    atomic = endpoint("tab-bench", "atomic-bench", "/atomic-bench", "get", ATOMIC_FUNC)
    for n in atomic:
        n["y"] = 160
        if n["type"] == "function":
            n["libs"] = [{"var": "shared", "module": "nodered-scale-shared"}, {"var": "perf", "module": "perf_hooks"}]
    return nodes + atomic


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def ms(value: float) -> str:
    return f"{value:.2f} ms"


VARIANTS = [("none", "memory"), ("get", "memory"), ("get", "shared"), ("set", "memory"), ("set", "shared")]


def per_request(workers: list[NodeRedInstance], count: int) -> dict[tuple[str, str], list[float]]:
    """Latency (ms) of `count` sequential requests per (op, store), one operation each. The variants take
    turns request by request (and the workers round robin), so a change of load hits all of them alike."""
    sessions = [requests.Session() for _ in workers]
    out: dict[tuple[str, str], list[float]] = {v: [] for v in VARIANTS}
    for i in range(count):
        for j, (op, store) in enumerate(VARIANTS):
            w = (i * len(VARIANTS) + j) % len(workers)
            t0 = time.perf_counter()
            r = sessions[w].get(workers[w].node_url + "/bench", params={"op": op, "store": store, "n": "1"}, timeout=10)
            out[(op, store)].append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
    return out


def in_flow(worker: NodeRedInstance, batches: int, size: int) -> dict[tuple[str, str], list[float]]:
    """Mean cost (ms) of one operation in each batch of `size` sequential operations inside the flow,
    per (op, store); the variants take turns batch by batch."""
    out: dict[tuple[str, str], list[float]] = {v: [] for v in VARIANTS[1:]}
    with requests.Session() as s:
        for _ in range(batches):
            for op, store in VARIANTS[1:]:
                params = {"op": op, "store": store, "n": str(size)}
                r = s.get(worker.node_url + "/bench", params=params, timeout=60)
                r.raise_for_status()
                out[(op, store)].append(r.json()["ms"] / size)
    return out


def context_figures(workers: list[NodeRedInstance], count: int) -> None:
    print(f"context operations, 1 KB value ({len(json.dumps(VALUE_1K))} bytes as JSON), through a function node")
    print(f"  per request ({count} sequential GETs each, straight to {len(workers)} workers, one operation each):")
    per_request(workers, 3 * len(workers))  # warm up both stores and the connections
    lat = per_request(workers, count)
    base50 = statistics.median(lat[("none", "memory")])
    print(f"    no context operation    p50 {ms(base50)}  p99 {ms(percentile(lat[('none', 'memory')], 99))}")
    for op, store in VARIANTS[1:]:
        p50, p99 = statistics.median(lat[(op, store)]), percentile(lat[(op, store)], 99)
        print(
            f"    {store:<6} {op}              p50 {ms(p50)}  p99 {ms(p99)}"
            f"   (p50 over no operation: {ms(p50 - base50)})"
        )
    print("  in the flow (20 batches of 50 sequential operations, Date.now() around each batch):")
    for (op, store), means in in_flow(workers[0], 20, 50).items():
        print(
            f"    {store:<6} {op}   mean per operation: median of batches {ms(statistics.median(means))}, worst {ms(max(means))}"
        )
    print(f"  ({load()})")


def server_ops(coll: Collection) -> dict[str, Callable[[], None]]:
    """op -> a function doing, with pymongo straight on the database server, what the store sends for it
    (the store's document shape; the compare-and-set's read too; the lock's grant, then an untimed unlock)."""
    fields = {"scope": "global", "node": "global", "updatedBy": "bench"}

    def counted(key: str, extra: dict | None = None) -> dict:
        return {"$set": {**fields, "key": key, **(extra or {})}, "$currentDate": {"updatedAt": True}}

    def _id(key: str) -> str:
        return json.dumps(["global", key])

    state = {"i": 0}

    def get() -> None:
        coll.find_one({"_id": _id("get")}, {"key": 1, "value": 1})

    def get1k() -> None:
        coll.find_one({"_id": _id("bench-1k")}, {"key": 1, "value": 1})

    def set1k() -> None:  # the value needs no escaping: the store stores it as it is
        coll.update_one(
            {"_id": _id("bench-1k")}, {**counted("bench-1k", {"value": VALUE_1K}), "$inc": {"v": 1}}, upsert=True
        )

    def set_() -> None:
        state["i"] += 1
        coll.update_one({"_id": _id("set")}, {**counted("set", {"value": state["i"]}), "$inc": {"v": 1}}, upsert=True)

    def incr() -> None:
        update = {**counted("incr"), "$inc": {"value": 1, "v": 1}}
        coll.find_one_and_update(
            {"_id": _id("incr"), "value": {"$type": "number"}},
            update,
            {"value": 1},
            return_document=ReturnDocument.AFTER,
        )

    def compare_and_set() -> None:
        doc = coll.find_one({"_id": _id("cas")}, {"value": 1, "v": 1})
        assert doc is not None
        update = {**counted("cas", {"value": doc["value"] + 1}), "$inc": {"v": 1}}
        if coll.update_one({"_id": _id("cas"), "v": doc["v"]}, update).matched_count != 1:
            raise RuntimeError("compareAndSet lost")

    def lock() -> None:
        now = time.time()
        free = {"$or": [{"value.expiresAt": None}, {"value.expiresAt": {"$lte": _date(now)}}]}
        grant = {**counted("lock", {"value.expiresAt": _date(now + 30)}), "$inc": {"value.token": 1, "v": 1}}
        doc = coll.find_one_and_update(
            {"_id": _id("lock"), "value.token": {"$type": "number"}, **free},
            grant,
            {"value": 1},
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None, "the lock was not free"
        state["token"] = doc["value"]["token"]

    for key, value in [
        ("get", 1),
        ("bench-1k", VALUE_1K),
        ("incr", 0),
        ("cas", 0),
        ("lock", {"token": 0, "expiresAt": None}),
    ]:
        coll.replace_one({"_id": _id(key)}, {**fields, "key": key, "value": value, "v": 1}, upsert=True)

    def unlock() -> None:
        coll.update_one(
            {"_id": _id("lock"), "value.token": state["token"]},
            {**counted("lock", {"value.expiresAt": None}), "$inc": {"v": 1}},
        )

    return {
        "get": get,
        "set": set_,
        "incr": incr,
        "compareAndSet": compare_and_set,
        "lock": lock,
        "unlock": unlock,
        "get1k": get1k,
        "set1k": set1k,
    }


def _date(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def versus_server(
    worker: NodeRedInstance, mongo_url: str, count: int, ops: list[str]
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """ms of each operation in a function node on `worker` and of the same operation by pymongo, taking
    turns in batches of 10 (so a change of load hits both alike)."""
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_url)
    db = client[f"bench_server_{uuid.uuid4().hex[:8]}"]
    coll = db.get_collection("context", write_concern=WriteConcern(w="majority"))
    coll.create_index("scope", name="scope")
    coll.create_index("node", name="node")
    direct = server_ops(coll)
    flow: dict[str, list[float]] = {op: [] for op in ops}
    server: dict[str, list[float]] = {op: [] for op in ops}
    batch = 10
    with requests.Session() as s:
        for rnd in range(-1, count // batch):  # round -1: warm-up, not counted
            for op in ops:
                r = s.get(worker.node_url + "/atomic-bench", params={"op": op, "n": str(batch)}, timeout=60)
                r.raise_for_status()
                times = []
                for _ in range(batch):
                    t0 = time.perf_counter()
                    direct[op]()
                    times.append((time.perf_counter() - t0) * 1000)
                    if op == "lock":
                        direct["unlock"]()
                if rnd >= 0:
                    flow[op].extend(r.json()["ms"])
                    server[op].extend(times)
    client.drop_database(db.name)
    client.close()
    return flow, server


def print_versus(flow: dict[str, list[float]], server: dict[str, list[float]]) -> None:
    for op in flow:
        f50, d50 = statistics.median(flow[op]), statistics.median(server[op])
        f99, d99 = percentile(flow[op], 99), percentile(server[op], 99)
        print(
            f"    {op:<14} function node p50 {ms(f50)} p99 {ms(f99)}   database server p50 {ms(d50)} p99 {ms(d99)}"
            f"   ratio p50 ×{f50 / d50:.2f}"
        )


def value_figures(worker: NodeRedInstance, mongo_url: str, count: int, tmp: Path) -> None:
    print(
        f"shared store, 1 KB value ({len(json.dumps(VALUE_1K))} bytes as JSON), get and set each timed alone in a "
        f"function node on one worker vs pymongo on the database server (same document, w: majority; {count} each)"
    )
    print_versus(*versus_server(worker, mongo_url, count, VALUE_OPS))
    # The same set on a second server of the same kind that nobody else uses: the stack's server also serves
    # the instances' change streams (flows, debug), which SecantusDB's writes pay for.
    with MongoServer(storage_dir=tmp / "mongo-bare", log_path=tmp / "mongo-bare.log", use_test_url=False) as bare:
        p50 = server_set_figures(
            {"majority": (mongo_url, "majority"), "w1": (mongo_url, 1), "bare": (bare.url, "majority")}, count
        )
    print(
        f"    the server's own set of it (pymongo): w: majority p50 {ms(p50['majority'])}, w: 1 p50 {ms(p50['w1'])}; "
        f"on a second server with no change stream open, w: majority p50 {ms(p50['bare'])}"
    )
    print(f"  ({load()})")


def server_set_figures(variants: dict[str, tuple[str, str | int]], count: int) -> dict[str, float]:
    """p50 (ms) of the 1 KB set by pymongo per variant (label -> server url, write concern), taking turns in
    batches of 10."""
    clients: dict[str, pymongo.MongoClient] = {url: pymongo.MongoClient(url) for url, _ in variants.values()}
    name = f"bench_set_{uuid.uuid4().hex[:8]}"
    sets = {
        label: server_ops(clients[url][name].get_collection("context", write_concern=WriteConcern(w=w)))["set1k"]
        for label, (url, w) in variants.items()
    }
    times: dict[str, list[float]] = {label: [] for label in sets}
    for rnd in range(-1, count // 10):
        for label, op in sets.items():
            for _ in range(10):
                t0 = time.perf_counter()
                op()
                if rnd >= 0:
                    times[label].append((time.perf_counter() - t0) * 1000)
    for client in clients.values():
        client.drop_database(name)
        client.close()
    return {label: statistics.median(t) for label, t in times.items()}


def atomic_figures(worker: NodeRedInstance, mongo_url: str, count: int) -> None:
    print(
        f"shared store operations on a number, in a function node on one worker vs pymongo on the database server ({count} each)"
    )
    print_versus(*versus_server(worker, mongo_url, count, ATOMIC_OPS))
    print(f"  ({load()})")


def failover_figures(editor: NodeRedInstance, workers: list[NodeRedInstance], admin: AdminClient, kills: int) -> None:
    with Collector() as collector:
        rev = admin.deploy(ticker_flow(collector.url) + bench_flow())
        for w in workers:
            w.wait_ready(rev=rev, timeout=60)
        collector.wait_for("tick", 2, timeout=60)
        took: list[float] = []
        for _ in range(kills):
            [leader] = [w for w in workers if w.healthz()["leader"]]
            killed = time.monotonic()
            leader.kill()
            started = collector.wait_for("once", 1, since=killed, timeout=60)[0]
            took.append(started.at - killed)
            leader.start()
            leader.wait_ready(timeout=120)
            collector.wait_for("tick", 2, since=time.monotonic(), timeout=30)
        print(
            f"leader failover, {len(workers)} workers, {kills} SIGKILLs of the leader: kill -> run-once tab started elsewhere"
        )
        print(
            f"  p50 {statistics.median(took):.1f} s, max {max(took):.1f} s  (each: {', '.join(f'{t:.1f}' for t in took)})"
        )
        print(f"  ({load()})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.context_ops", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--requests", type=int, default=300, help="requests per operation and store (0: skip that part)")
    p.add_argument("--value", type=int, default=300, help="1 KB gets and sets of each kind vs the server (0: skip)")
    p.add_argument("--atomic", type=int, default=300, help="atomic operations of each kind (0: skip that part)")
    p.add_argument("--kills", type=int, default=10, help="leader SIGKILLs (0: skip the failover part)")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-context-"))
    db = f"bench_ctx_{uuid.uuid4().hex[:8]}"
    print(f"start: {load()}")
    with MongoServer(storage_dir=tmp / "mongo", log_path=tmp / "mongo.log") as mongo:
        password = "bench-editor-password"
        editor = NodeRedInstance("editor", mongo.url, db, editor_password=password, user_dir=tmp / "editor")
        workers = [
            NodeRedInstance("worker", mongo.url, db, user_dir=tmp / f"w{i}", instance_id=f"worker-{i + 1}")
            for i in range(args.workers)
        ]
        try:
            for inst in [editor, *workers]:
                inst.start()
            for inst in [editor, *workers]:
                inst.wait_ready(timeout=120)
            admin = AdminClient(editor.url, editor.editor_user, password)
            admin.login()
            rev = admin.deploy(bench_flow())
            for w in workers:
                w.wait_ready(rev=rev, timeout=60)
            if args.requests:
                context_figures(workers, args.requests)
            if args.value:
                value_figures(workers[0], mongo.url, args.value, tmp)
            if args.atomic:
                atomic_figures(workers[0], mongo.url, args.atomic)
            if args.kills:
                failover_figures(editor, workers, admin, args.kills)
        finally:
            for inst in [*workers, editor]:
                inst.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
