"""Idle cost: CPU time of each worker's node process (and the editor's, and the database's) over a window
with no deploys and no requests, read from /proc/<pid>/stat (utime + stime). Also RSS of each worker.

Starts SecantusDB (or uses MONGO_TEST_URL), one editor and N workers as real processes, and two floors
measured over the same window: one plain Node-RED (file storage, no sync), and one node process with
nothing but a MongoDB client made as the storage module makes it, following the flows' change stream
(bench/idle_driver_client.js: the driver's own timers and round trips). Deploys one small flow to
both, waits until they serve it, lets them settle, then measures. Prints % of one core per process, each
worker's ratio to the floor, and the load average. No assertions.

    venv/bin/python -m bench.idle_cpu --workers 3 --seconds 60
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.plain_nodered import PlainNodeRed
from bench.stack import BenchStack
from local_stack import MongoServer, NodeRedInstance
from local_stack.flows import marker_flow, wait_marker
from local_stack.node_lines import line
from local_stack.procs import tree

TICK = os.sysconf("SC_CLK_TCK")
DRIVER_CLIENT = Path(__file__).resolve().parent / "idle_driver_client.js"
FLOOR = "plain Node-RED (floor)"
DRIVER = "MongoDB client alone"


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def node_pid(inst: NodeRedInstance) -> int:
    pids = inst._node_pids()
    if len(pids) != 1:
        raise RuntimeError(f"{inst.instance_id}: expected one node process, found {pids}")
    return pids[0]


def measure(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """% of one core each process used over `seconds` of wall time."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    t0 = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    return {name: (cpu_seconds(pid) - before[name]) / wall * 100 for name, pid in pids.items()}


def run(workers: int, seconds: float, settle: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    with MongoServer(storage_dir=tmp / "mongo", log_path=tmp / "mongo.log") as mongo:
        plain = PlainNodeRed(tmp / "floor")
        driver: subprocess.Popen[str] | None = None
        try:
            plain.start()
            plain.deploy(marker_flow("idle-floor"))
            with BenchStack(tmp, mongo.url, workers, prefix="bench_idle") as stack:
                editor, ws = stack.editor, stack.workers
                marker = f"idle-{uuid.uuid4().hex[:6]}"
                stack.admin.deploy(marker_flow(marker))
                for w in ws:
                    wait_marker(w.node_url, marker, timeout=30)
                time.sleep(settle)
                pids = {w.instance_id: node_pid(w) for w in ws}
                pids["editor"] = node_pid(editor)
                assert plain.proc is not None
                pids[FLOOR] = plain.proc.pid
                driver = subprocess.Popen(
                    [str(line().node), str(DRIVER_CLIENT)],
                    env={**os.environ, "MONGO_URL": mongo.url, "DB": stack.db},
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert driver.stdout is not None
                if driver.stdout.readline().strip() != "ready":
                    raise RuntimeError("the driver client did not start")
                pids[DRIVER] = driver.pid
                time.sleep(2)
                db_pids = tree(mongo.proc.pid) if mongo.proc is not None else []
                for i, pid in enumerate(db_pids):
                    pids[f"database process {i}"] = pid
                load = os.getloadavg()
                cpu = measure(pids, seconds)
                rss = {name: rss_mb(pids[name]) for name in [*(w.instance_id for w in ws), FLOOR]}
        finally:
            if driver is not None:
                driver.kill()
                driver.wait()
            plain.stop()
    return {"cpu": cpu, "rss": rss, "load": load, "workers": [w.instance_id for w in ws]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="idle_cpu", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--settle", type=float, default=10.0, help="seconds after the deploy before measuring")
    a = p.parse_args(argv)
    r = run(a.workers, a.seconds, a.settle)
    print(f"idle CPU over {a.seconds:.0f} s, % of one core (goal per worker <= 0.5 %)")
    for name, pct in r["cpu"].items():
        extra = f"   RSS {r['rss'][name]:.0f} MB" if name in r["rss"] else ""
        print(f"  {name:<24} {pct:6.2f} %{extra}")
    floor = r["cpu"][FLOOR]
    per_worker = [r["cpu"][w] for w in r["workers"]]
    mean = sum(per_worker) / len(per_worker)
    print(f"  mean worker {mean:.2f} % = {mean / floor:.1f}x the floor" if floor else "  the floor used no CPU tick")
    print(f"  the floor plus the MongoDB client alone: {floor + r['cpu'][DRIVER]:.2f} %")
    print("  load average before: " + " ".join(f"{x:.2f}" for x in r["load"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
