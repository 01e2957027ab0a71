"""Deploys against the floor: from the deploy POST being sent until every worker serves it, beside one
plain Node-RED (file storage, no sync: the floor) deploying the same flows to itself, in the same run,
taking turns deploy by deploy. Each target's own port is polled every 5 ms (http.client, one kept-alive
connection per target: the pollers share the machine with what they measure).

  small: a small API flow with credentials, N workers (default 3 and 6), D deploys (full): p50/p99/max,
         ratio to the floor's p50, missed deploys; beside it the floor of N: N plain Node-REDs each sent the
         same deploy at the same moment (what N instances restarting their flows at once cost this machine's
         cores, with no sync at all) until all N serve it; the database server's own share, taking turns with the
         deploys (change_stream_floor.py: an insert of the same flows reaching N change-stream watchers);
         the medians of the workers' own breakdown of each deploy (lastSync in their status records,
         storage/lib/timing.js); then RSS of each worker against the floor's.
  large: 50 tabs (~1,500 nodes); 10 "modified flows" deploys each changing one tab, 10 full deploys of
         the same change, and the floor's own "modified flows" deploys: p50 of each, ratios.

Prints figures and the load average; no assertions.

    venv/bin/python -m bench.deploy_floor [--workers 3 6] [--deploys 50] [--large-deploys 10]
    venv/bin/python -m bench.deploy_floor --workers 3 --deploys 30 --large-deploys 0   # the small part only
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pymongo

from bench.change_stream_floor import ChangeStreamFloor
from bench.idle_cpu import node_pid, rss_mb
from bench.plain_nodered import PlainNodeRed
from bench.stack import BenchStack
from bench.sync_latency import percentile
from local_stack import MongoServer
from local_stack.flows import credentials_flow, endpoint, marker_flow, tab


def wait_all(urls: list[str], marker: str, t0: float, timeout: float = 10.0) -> float | None:
    """Seconds from t0 until every url answers JSON with this marker (None: one never did)."""
    out: dict[str, float | None] = {}

    def poll(url: str) -> None:
        # http.client on one kept-alive connection: a poll costs the machine (which the stack shares)
        # a fraction of what requests' would, and the same for every target.
        u = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=2)
        try:
            while time.monotonic() - t0 < timeout:
                try:
                    conn.request("GET", u.path)
                    r = conn.getresponse()
                    body = r.read()
                    if r.status == 200 and json.loads(body).get("marker") == marker:
                        out[url] = time.monotonic() - t0
                        return
                except (OSError, http.client.HTTPException, ValueError):
                    conn.close()
                time.sleep(0.005)
            out[url] = None
        finally:
            conn.close()

    threads = [threading.Thread(target=poll, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = list(out.values())
    return None if any(v is None for v in times) else max(v for v in times if v is not None)


# A deploy of ours from the POST being sent to every worker serving it, the slowest worker's lastSync
# (storage/lib/timing.js) in between: before (POST sent -> the editor's flows API call began: HTTP, login
# check, the deploy guard's checks), editor, notify, load, swap, after (the worker's flows started -> the
# bench's poll saw the marker).
PARTS = ("before", "editorMs", "notifyMs", "loadMs", "swapMs", "after")
# Inserts into the watched collection after each deploy of ours: the database's share, same run.
PROBES_PER_DEPLOY = 3


def deploy_parts(db, instance_ids: list[str], rev: int | None, sent: float, took: float, timeout: float = 5.0) -> dict:
    """The parts (seconds) of deploy `rev`, sent at wall-clock `sent` and served by all after `took` s, once
    every worker's status record has its lastSync ({} if one had not within `timeout`)."""
    found: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while rev is not None and len(found) < len(instance_ids) and time.monotonic() < deadline:
        for doc in db.instances.find({"_id": {"$in": instance_ids}}, {"lastSync": 1}):
            sync = doc.get("lastSync") or {}
            if sync.get("rev") == rev and sync.get("totalMs") is not None:
                found[doc["_id"]] = sync
        time.sleep(0.01)
    revision = db.flows.find_one({"_id": rev}, {"deployStartedAt": 1}) if rev is not None else None
    if len(found) < len(instance_ids) or not revision or not revision.get("deployStartedAt"):
        return {}
    slowest = max(found.values(), key=lambda s: s["totalMs"])
    started: datetime.datetime = revision["deployStartedAt"]  # naive UTC, as pymongo reads dates
    began = started.replace(tzinfo=datetime.UTC).timestamp()
    out = {p: slowest[p] / 1000 for p in PARTS[1:-1]}
    out["before"] = began - sent
    out["after"] = sent + took - (began + slowest["totalMs"] / 1000)
    return out


def deploy_all_at_once(plains: list[PlainNodeRed], flows: list[dict]) -> None:
    """POSTs the same full deploy to every plain Node-RED at once: the body serialized once, each request sent
    from its own thread on its own connection, all released together (the bench's own cost kept small and
    equal across targets)."""
    body = json.dumps(flows).encode()
    headers = {"Content-Type": "application/json", "Node-RED-Deployment-Type": "full"}
    conns = [http.client.HTTPConnection("127.0.0.1", p.port, timeout=60) for p in plains]
    for c in conns:
        c.connect()
    go = threading.Barrier(len(conns))
    failed: list[str] = []

    def send(conn: http.client.HTTPConnection) -> None:
        go.wait()
        conn.request("POST", "/flows", body, headers)
        r = conn.getresponse()
        r.read()
        if r.status >= 300:
            failed.append(f"{conn.port}: {r.status}")

    threads = [threading.Thread(target=send, args=(c,)) for c in conns]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for c in conns:
            c.close()
    if failed:
        raise RuntimeError(f"plain Node-RED refused the deploy: {', '.join(failed)}")


def small_flows(marker: str, seq: int) -> list[dict]:
    return marker_flow(marker, seq=seq) + credentials_flow("bench", "bench-password")


def large_flows(changed: str, version: int, tabs: int = 50, endpoints: int = 10) -> list[dict]:
    """`tabs` tabs of `endpoints` endpoints (3 nodes each); tab `changed`'s first endpoint answers the marker."""
    nodes: list[dict] = []
    for t in range(tabs):
        tid = f"lt{t}"
        nodes.append(tab(tid, f"large {t}"))
        for e in range(endpoints):
            marker = f"{tid}-v{version}" if (tid == changed and e == 0) else f"{tid}-{e}"
            nodes += endpoint(
                tid, f"{tid}-{e}", f"/l/{tid}/{e}", "get", f"msg.payload = {{marker: '{marker}'}};\nreturn msg;"
            )
    return nodes


def stats(times: list[float]) -> dict:
    if not times:
        return {"p50": None, "p99": None, "max": None}
    return {"p50": statistics.median(times) * 1000, "p99": percentile(times, 99) * 1000, "max": max(times) * 1000}


def run_small(tmp: Path, mongo_url: str, workers: int, deploys: int) -> dict:
    plain = PlainNodeRed(tmp / f"small{workers}").start()
    plains: list[PlainNodeRed] = []
    client: pymongo.MongoClient = pymongo.MongoClient(mongo_url)
    try:
        plains += [PlainNodeRed(tmp / f"small{workers}-{j}").start() for j in range(workers)]
        with (
            BenchStack(tmp, mongo_url, workers, prefix="bench_floor") as stack,
            ChangeStreamFloor(mongo_url, workers) as db_floor,
        ):
            ids = [w.instance_id for w in stack.workers]
            times: dict[str, list[float]] = {"ours": [], "floor": [], "floor_n": []}
            db_share: list[float] = []
            parts: dict[str, list[float]] = {p: [] for p in PARTS}
            missed = {"ours": 0, "floor": 0, "floor_n": 0, "db": 0}
            for i in range(1, deploys + 1):
                for who in ("ours", "floor", "floor_n", "db") if i % 2 else ("floor_n", "floor", "db", "ours"):
                    marker = f"{who}-{i}-{uuid.uuid4().hex[:6]}"
                    sent, t0 = time.time(), time.monotonic()
                    if who == "db":
                        for _ in range(PROBES_PER_DEPLOY):
                            took = db_floor.probe({"flows": small_flows(marker, i)})
                            if took is None:
                                missed["db"] += 1
                            else:
                                db_share.append(took)
                        continue
                    if who == "ours":
                        rev = stack.admin.deploy(small_flows(marker, i))
                        took = wait_all([w.node_url + "/marker" for w in stack.workers], marker, t0)
                        if took is not None:
                            for p, v in deploy_parts(client[stack.db], ids, rev, sent, took).items():
                                parts[p].append(v)
                    elif who == "floor_n":
                        deploy_all_at_once(plains, small_flows(marker, i))
                        took = wait_all([p.node_url + "/marker" for p in plains], marker, t0)
                    else:
                        plain.deploy(small_flows(marker, i))
                        took = wait_all([plain.node_url + "/marker"], marker, t0)
                    if took is None:
                        missed[who] += 1
                    else:
                        times[who].append(took)
                    time.sleep(0.05)
            rss = [rss_mb(node_pid(w)) for w in stack.workers]
            plain_rss = rss_mb(plain.proc.pid) if plain.proc else 0.0
    finally:
        client.close()
        for p in [plain, *plains]:
            p.stop()
    return {
        "workers": workers,
        "deploys": deploys,
        **{who: stats(t) for who, t in times.items()},
        "db": stats(db_share),
        "parts": {p: stats(v) for p, v in parts.items()},
        "missed": missed,
        "rss": rss,
        "plain_rss": plain_rss,
    }


def run_large(tmp: Path, mongo_url: str, workers: int, deploys: int) -> dict:
    plain = PlainNodeRed(tmp / "large").start()
    results: dict[str, list[float]] = {"partial": [], "full": [], "floor partial": []}
    missed = dict.fromkeys(results, 0)
    try:
        with BenchStack(tmp, mongo_url, workers, prefix="bench_floor") as stack:
            version = 0
            stack.admin.deploy(large_flows("lt0", version))
            plain.deploy(large_flows("lt0", version))
            time.sleep(3)
            for i in range(deploys):
                for kind in ("partial", "full", "floor partial"):
                    version += 1
                    changed = f"lt{(i * 7 + version) % 50}"
                    flows = large_flows(changed, version)
                    marker = f"{changed}-v{version}"
                    t0 = time.monotonic()
                    if kind == "floor partial":
                        plain.deploy(flows, "flows")
                        took = wait_all([plain.node_url + f"/l/{changed}/0"], marker, t0, timeout=30)
                    else:
                        stack.admin.deploy(flows, "flows" if kind == "partial" else "full")
                        took = wait_all([w.node_url + f"/l/{changed}/0" for w in stack.workers], marker, t0, timeout=30)
                    if took is None:
                        missed[kind] += 1
                    else:
                        results[kind].append(took)
                    time.sleep(0.2)
    finally:
        plain.stop()
    return {
        "workers": workers,
        "deploys": deploys,
        "nodes": len(large_flows("lt0", 0)),
        "stats": {k: stats(v) for k, v in results.items()},
        "missed": missed,
    }


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def ms(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0f} ms"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.deploy_floor", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, nargs="+", default=[3, 6])
    p.add_argument("--deploys", type=int, default=50)
    p.add_argument("--large-workers", type=int, default=3)
    p.add_argument("--large-deploys", type=int, default=10, help="0: the small part only")
    a = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-floor-"))
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    with MongoServer(storage_dir=tmp / "mongo", log_path=tmp / "mongo.log") as mongo:
        for n in a.workers:
            r = run_small(tmp, mongo.url, n, a.deploys)
            o, f = r["ours"], r["floor"]
            print(f"small flow with credentials, {n} workers, {a.deploys} full deploys, POST sent -> all serving:")
            print(f"  ours   p50 {ms(o['p50'])}  p99 {ms(o['p99'])}  max {ms(o['max'])}  missed {r['missed']['ours']}")
            print(
                f"  floor  p50 {ms(f['p50'])}  p99 {ms(f['p99'])}  max {ms(f['max'])}  missed {r['missed']['floor']}"
                "  (one plain Node-RED, file storage)"
            )
            fn = r["floor_n"]
            print(
                f"  floor of {n} p50 {ms(fn['p50'])}  p99 {ms(fn['p99'])}  max {ms(fn['max'])}  missed {r['missed']['floor_n']}"
                f"  ({n} plain Node-REDs, each sent the deploy at once: the same restarts at once on these cores)"
            )
            d = r["db"]
            print(
                f"  db     p50 {ms(d['p50'])}  p99 {ms(d['p99'])}  max {ms(d['max'])}  missed {r['missed']['db']}"
                f"  (the database server's share: pymongo insert, w: majority -> received by {n} change-stream watchers)"
            )
            print(f"  ratio p50 ours / floor {ratio(o['p50'], f['p50'])}", end="")
            beyond = o["p50"] - d["p50"] if o["p50"] is not None and d["p50"] is not None else None
            print(f"; (ours - db) / floor {ratio(beyond, f['p50'])}; ours / floor of {n} {ratio(o['p50'], fn['p50'])}")
            ps = r["parts"]
            print(
                "  ours in parts (medians; the slowest worker's lastSync): "
                + ", ".join(f"{p.removesuffix('Ms')} {ps[p]['p50']:.1f}" for p in PARTS if ps[p]["p50"] is not None)
                + f" ms (sum {sum(ps[p]['p50'] or 0 for p in PARTS):.1f})"
            )
            rss = r["rss"]
            print(
                f"  RSS after {a.deploys} deploys: workers {', '.join(f'{x:.0f}' for x in rss)} MB; plain Node-RED "
                f"{r['plain_rss']:.0f} MB; ratio (mean worker) {ratio(statistics.mean(rss), r['plain_rss'])}"
            )
            print("  load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        if not a.large_deploys:
            return 0
        r = run_large(tmp, mongo.url, a.large_workers, a.large_deploys)
        s = r["stats"]
        print(
            f"large flow set ({r['nodes']} nodes, 50 tabs), {a.large_workers} workers, {a.large_deploys} deploys "
            "each changing one tab, POST sent -> all serving the change:"
        )
        for kind in ("partial", "full", "floor partial"):
            print(
                f"  {kind:<14} p50 {ms(s[kind]['p50'])}  p99 {ms(s[kind]['p99'])}  max {ms(s[kind]['max'])}  "
                f"missed {r['missed'][kind]}"
            )
        print(
            f"  partial / full {ratio(s['partial']['p50'], s['full']['p50'])}; "
            f"partial / floor partial {ratio(s['partial']['p50'], s['floor partial']['p50'])}"
        )
        print("  load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
