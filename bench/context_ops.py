"""Context and run-once tabs on a stack of real processes: what a context operation costs in the `shared`
store (MongoDB) against the `memory` store, and how long a run-once tab stops when its leader is killed.

Starts SecantusDB (or uses MONGO_TEST_URL), one editor and N workers (local_stack: nodered_image/'s start script).

1. Context get and set of a 1 KB value through a function node, straight to the workers (no router):
   - per request, one operation each: latency of GET <root>/bench?op=get|set&store=... against the same
     endpoint doing no context operation (op=none), so the difference is the operation's own cost;
   - in the flow: batches of sequential operations timed inside the function node (Date.now over the
     batch), the mean cost of one operation without any HTTP around it.
2. Leader failover: a run-once tab (CLUSTER_RUN_ON=leader) whose "inject once" reports where it started;
   the leader is SIGKILLed `--kills` times (then restarted, as its container would be), and the time
   from the kill to the tab starting on another instance is measured.

Prints figures with the load average; asserts nothing.

    venv/bin/python -m bench.context_ops [--workers 3] [--requests 300] [--kills 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

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


def bench_flow() -> list[dict]:
    return [tab("tab-bench", "context bench")] + endpoint("tab-bench", "bench", "/bench", "get", BENCH_FUNC)


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
    p.add_argument("--requests", type=int, default=300, help="requests per operation and store")
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
            context_figures(workers, args.requests)
            if args.kills:
                failover_figures(editor, workers, admin, args.kills)
        finally:
            for inst in [*workers, editor]:
                inst.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
