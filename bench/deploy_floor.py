"""Deploys against the floor: from the deploy POST being sent until every worker serves it, beside one
plain Node-RED (file storage, no sync: the floor) deploying the same flows to itself, in the same run,
taking turns deploy by deploy. Each target's own port is polled every 5 ms.

  small: a small API flow with credentials, N workers (default 3 and 6), D deploys (full): p50/p99/max,
         ratio to the floor's p50, missed deploys; then RSS of each worker against the floor's.
  large: 50 tabs (~1,500 nodes); 10 "modified flows" deploys each changing one tab, 10 full deploys of
         the same change, and the floor's own "modified flows" deploys: p50 of each, ratios.

Prints figures and the load average; no assertions.

    venv/bin/python -m bench.deploy_floor [--workers 3 6] [--deploys 50] [--large-deploys 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

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
        s = requests.Session()
        while time.monotonic() - t0 < timeout:
            try:
                r = s.get(url, timeout=2)
                if r.ok and r.json().get("marker") == marker:
                    out[url] = time.monotonic() - t0
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.005)
        out[url] = None

    threads = [threading.Thread(target=poll, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times = list(out.values())
    return None if any(v is None for v in times) else max(v for v in times if v is not None)


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
    try:
        with BenchStack(tmp, mongo_url, workers, prefix="bench_floor") as stack:
            ours: list[float] = []
            floor: list[float] = []
            missed = {"ours": 0, "floor": 0}
            for i in range(1, deploys + 1):
                for who in ("ours", "floor") if i % 2 else ("floor", "ours"):
                    marker = f"{who}-{i}-{uuid.uuid4().hex[:6]}"
                    t0 = time.monotonic()
                    if who == "ours":
                        stack.admin.deploy(small_flows(marker, i))
                        took = wait_all([w.node_url + "/marker" for w in stack.workers], marker, t0)
                    else:
                        plain.deploy(small_flows(marker, i))
                        took = wait_all([plain.node_url + "/marker"], marker, t0)
                    if took is None:
                        missed[who] += 1
                    else:
                        (ours if who == "ours" else floor).append(took)
                    time.sleep(0.05)
            rss = [rss_mb(node_pid(w)) for w in stack.workers]
            plain_rss = rss_mb(plain.proc.pid) if plain.proc else 0.0
    finally:
        plain.stop()
    return {
        "workers": workers,
        "deploys": deploys,
        "ours": stats(ours),
        "floor": stats(floor),
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
    p.add_argument("--large-deploys", type=int, default=10)
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
            print(f"  ratio p50 {ratio(o['p50'], f['p50'])}")
            rss = r["rss"]
            print(
                f"  RSS after {a.deploys} deploys: workers {', '.join(f'{x:.0f}' for x in rss)} MB; plain Node-RED "
                f"{r['plain_rss']:.0f} MB; ratio (mean worker) {ratio(statistics.mean(rss), r['plain_rss'])}"
            )
            print("  load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
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
