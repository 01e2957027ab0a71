"""Sync latency: from the editor accepting a deploy (its POST /flows response) to every worker serving it.

Starts SecantusDB (or uses MONGO_TEST_URL), one editor and N workers as real processes (nodered_image/'s
start script), deploys D times through the editor's admin API, and after each deploy polls every
worker's endpoint until it answers with that deploy's marker. Prints p50, p99 and max over deploys
(the slowest worker of each deploy) and the deploys that some worker never served; also the same
measured from the moment the POST is sent, which includes the editor's own save and flow swap.
No assertions.

    venv/bin/python -m bench.sync_latency --workers 3 --deploys 50
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

from bench.stack import BenchStack
from local_stack import MongoServer
from local_stack.flows import marker_flow


def wait_served(
    session: requests.Session, url: str, marker: str, t0: float, timeout: float, interval: float, out: dict, key: str
) -> None:
    """Poll url until it answers with marker; store seconds since t0 (None when never)."""
    while time.monotonic() - t0 < timeout:
        try:
            r = session.get(url, timeout=2)
            if r.status_code == 200 and r.json().get("marker") == marker:
                out[key] = time.monotonic() - t0
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(interval)
    out[key] = None


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def run(workers: int, deploys: int, timeout: float, interval: float, pause: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    with (
        MongoServer(storage_dir=tmp / "mongo", log_path=tmp / "mongo.log") as mongo,
        BenchStack(tmp, mongo.url, workers, prefix="bench_sync") as stack,
    ):
        ws, admin = stack.workers, stack.admin
        sessions = [requests.Session() for _ in ws]
        slowest: list[float] = []
        from_send: list[float] = []
        per_worker: list[float] = []
        missed: list[int] = []
        for i in range(1, deploys + 1):
            marker = f"sync-{i}-{uuid.uuid4().hex[:6]}"
            sent = time.monotonic()
            admin.deploy(marker_flow(marker, seq=i))
            t0 = time.monotonic()  # the editor has accepted (saved) the deploy
            out: dict = {}
            threads = [
                threading.Thread(
                    target=wait_served,
                    args=(s, w.node_url + "/marker", marker, t0, timeout, interval, out, w.instance_id),
                )
                for s, w in zip(sessions, ws, strict=False)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            times = list(out.values())
            if any(v is None for v in times):
                missed.append(i)
            else:
                slowest.append(max(times))
                from_send.append(max(times) + (t0 - sent))
            per_worker.extend(v for v in times if v is not None)
            time.sleep(pause)
    return {
        "workers": workers,
        "deploys": deploys,
        "slowest": slowest,
        "from_send": from_send,
        "per_worker": per_worker,
        "missed": missed,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="sync_latency", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--deploys", type=int, default=50)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds after which a deploy counts as missed")
    p.add_argument("--interval", type=float, default=0.002, help="poll interval per worker, seconds")
    p.add_argument("--pause", type=float, default=0.1, help="seconds between deploys")
    a = p.parse_args(argv)
    r = run(a.workers, a.deploys, a.timeout, a.interval, a.pause)
    s = r["slowest"]
    print(
        f"sync latency, deploy accepted by the editor -> all {r['workers']} workers serving it ({r['deploys']} deploys)"
    )
    if s:
        print(
            f"  p50 {statistics.median(s) * 1000:.0f} ms   p99 {percentile(s, 99) * 1000:.0f} ms   "
            f"max {max(s) * 1000:.0f} ms   (per worker: p50 {statistics.median(r['per_worker']) * 1000:.0f} ms)"
        )
        f = r["from_send"]
        print(
            f"  from the POST being sent: p50 {statistics.median(f) * 1000:.0f} ms   "
            f"p99 {percentile(f, 99) * 1000:.0f} ms   max {max(f) * 1000:.0f} ms"
        )
    print(f"  missed: {len(r['missed'])} of {r['deploys']}" + (f" (deploys {r['missed']})" if r["missed"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
