"""Throughput cost of forwarding a worker's debug output to the editor's sidebar.

One run starts SecantusDB, an editor and three workers that differ only in NODE_RED_DEBUG_FORWARD_RATE
(and _KIB):
  off     0      forwarding off (what a plain Node-RED worker does with a debug node: nothing leaves it)
  on      the defaults (50/s, 64 KiB/s): most messages under load are dropped and counted, 50/s written
  all     10000/s, 65536 KiB/s: every message written to the database (far above what the sidebar can show)
and deploys one flow whose endpoint sends every request's payload to an active debug node. wrk loads
each worker straight on its own port (one thread, 8 connections), in alternating rounds, so the three
see the same machine state; the medians are compared with "off", the floor measured in the same run.
The plain endpoint of the same flow (no debug node) on the "off" worker is shown for scale. Beside
req/s, the CPU each run cost the loaded worker per request, and what the database server and the
editor (which relays forwarded messages) spent during that mode's rounds: on a shared machine their
work takes cores from the worker, where a deployment has them elsewhere.
Then the delivery time: sequential requests to the "on" worker, each timed from the request sent to
its debug message arriving on the editor's /comms websocket (what an open editor receives).
Prints figures and the load average; asserts nothing about time.

    venv/bin/python -m bench.debug_forwarding [--duration 5] [--rounds 3]
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
from prometheus_client.parser import text_string_to_metric_families

from local_stack import AdminClient, MongoServer, NodeRedInstance
from local_stack.comms import EditorComms
from local_stack.debug_flows import debug_flow
from local_stack.procs import tree

from .router_overhead import DONE, wrk

MODES = {"off": 0, "on": 50, "all": 10000}
KIB = {"all": "65536"}  # else the default


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def counters(instance: NodeRedInstance) -> dict[str, float]:
    text = requests.get(instance.url + "/metrics", timeout=10).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith("nodered_debug_messages"):
            for s in family.samples:
                if s.name.endswith("_total"):
                    out[s.name] = out.get(s.name, 0.0) + s.value
    return out


def delivery(editor: NodeRedInstance, admin: AdminClient, worker: NodeRedInstance, n: int) -> list[float]:
    """Seconds from each request sent to its debug message on the editor's /comms, n in sequence."""
    times = []
    with EditorComms(editor.url, admin.login()) as comms:
        for _ in range(n):
            tag = uuid.uuid4().hex[:10]
            sent = time.monotonic()
            requests.get(f"{worker.node_url}/dbg/probe/{tag}", timeout=10).raise_for_status()

            def arrived_yet(ms: list[dict], t: str = tag) -> list[dict]:
                return [m for m in ms if t in str(m.get("msg"))]

            comms.wait_for(arrived_yet, timeout=30)
            arrived = next(m["at"] for m in reversed(comms.messages) if tag in str((m["data"] or {}).get("msg")))
            times.append(arrived - sent)
            time.sleep(0.05)  # pacing: well under the forwarding rate
    return times


def run(duration: float, rounds: int, deliveries: int = 30) -> dict:
    base = Path(tempfile.mkdtemp(prefix="bench-debug-"))
    mongo = MongoServer(storage_dir=base / "mongo", log_path=base / "secantusd.log")
    instances: list[NodeRedInstance] = []
    try:
        mongo.start()
        db = f"bench_{uuid.uuid4().hex[:8]}"

        def make(role: str, name: str, **env) -> NodeRedInstance:
            inst = NodeRedInstance(role, mongo.url, db, instance_id=name, user_dir=base / name, extra_env=env)
            instances.append(inst)
            return inst.start()

        editor = make("editor", "editor")
        workers = {
            mode: make(
                "worker",
                f"worker-{mode}",
                NODE_RED_DEBUG_FORWARD_RATE=rate,
                **({"NODE_RED_DEBUG_FORWARD_KIB": KIB[mode]} if mode in KIB else {}),
            )
            for mode, rate in MODES.items()
        }
        for inst in instances:
            inst.wait_ready(timeout=120)
        admin = AdminClient(editor.url, editor.editor_user, editor.editor_password or "")
        rev = admin.deploy(debug_flow())
        for w in workers.values():
            w.wait_ready(rev=rev)

        def url(w: NodeRedInstance, path: str) -> str:
            return w.node_url + path

        targets = {mode: url(w, "/dbg/probe/bench") for mode, w in workers.items()}
        targets["plain"] = url(workers["off"], "/dbg/plain")
        for u in targets.values():
            wrk(u, DONE, 1, 8, 2)  # warm-up
        before = {mode: counters(w) for mode, w in workers.items()}
        results: dict[str, list[dict]] = {mode: [] for mode in targets}
        loaded = {mode: workers["off" if mode == "plain" else mode]._node_pids() for mode in targets}
        others = {"db": tree(mongo.proc.pid) if mongo.proc else [], "editor": editor._node_pids()}
        cpu: dict[str, dict[str, float]] = {mode: {"worker": 0.0, "db": 0.0, "editor": 0.0} for mode in targets}
        order = list(targets)
        for i in range(rounds):
            # Each round starts with another mode: no mode always runs first (or after the same one).
            for mode in order[i % len(order) :] + order[: i % len(order)]:
                start = {"worker": cpu_seconds(loaded[mode]), **{k: cpu_seconds(p) for k, p in others.items()}}
                results[mode].append(wrk(targets[mode], DONE, 1, 8, duration))
                cpu[mode]["worker"] += cpu_seconds(loaded[mode]) - start["worker"]
                for k, p in others.items():
                    cpu[mode][k] += cpu_seconds(p) - start[k]
        after = {mode: counters(w) for mode, w in workers.items()}
        load = os.getloadavg()
        times = sorted(delivery(editor, admin, workers["on"], deliveries))
    finally:
        for inst in instances:
            inst.stop()
        mongo.stop()
    summary: dict = {"duration_s": duration, "rounds": rounds, "loadavg": [round(x, 2) for x in load], "modes": {}}
    summary["delivery_ms"] = {
        "n": len(times),
        "p50": statistics.median(times) * 1000,
        "p90": times[int(0.9 * (len(times) - 1))] * 1000,
        "max": times[-1] * 1000,
    }
    for mode, rs in results.items():
        summary["modes"][mode] = {
            "rps": statistics.median(r["rps"] for r in rs),
            "rps_rounds": [round(r["rps"]) for r in rs],
            "p99_ms": statistics.median(r["p99_us"] for r in rs) / 1000,
            "errors": sum(r["errors"] for r in rs),
            "requests": sum(r["requests"] for r in rs),
            "worker_cpu_ms_per_request": 1000 * cpu[mode]["worker"] / max(1, sum(r["requests"] for r in rs)),
            "db_cpu_s": cpu[mode]["db"],
            "editor_cpu_s": cpu[mode]["editor"],
        }
    for mode in MODES:
        delta = {k: after[mode].get(k, 0.0) - before[mode].get(k, 0.0) for k in after[mode]}
        summary["modes"][mode]["forwarded"] = int(delta.get("nodered_debug_messages_forwarded_total", 0))
        summary["modes"][mode]["dropped"] = int(delta.get("nodered_debug_messages_dropped_total", 0))
    off = summary["modes"]["off"]["rps"]
    summary["ratio_on_over_off"] = summary["modes"]["on"]["rps"] / off
    summary["ratio_all_over_off"] = summary["modes"]["all"]["rps"] / off
    cost = {m: summary["modes"][m]["worker_cpu_ms_per_request"] for m in MODES}
    summary["cpu_ratio_off_over_on"] = cost["off"] / cost["on"] if cost["on"] else float("nan")
    return summary


def report(s: dict) -> str:
    label = {
        "off": "debug node, forwarding off",
        "on": f"debug node, forwarding on ({MODES['on']}/s)",
        "all": f"debug node, forwarding all ({MODES['all']}/s)",
        "plain": "no debug node (scale)",
    }
    lines = [
        f"debug forwarding cost: one worker per mode, wrk 1 thread x 8 connections, {s['rounds']} alternating "
        f"rounds of {s['duration_s']:.0f}s (medians); load average {' '.join(map(str, s['loadavg']))}"
    ]
    for mode, m in s["modes"].items():
        extra = f"   forwarded {m['forwarded']}, dropped {m['dropped']}" if "forwarded" in m else ""
        lines.append(
            f"  {label[mode]:<38} {m['rps']:8.0f} req/s   p99 {m['p99_ms']:6.2f} ms   errors {m['errors']} of "
            f"{m['requests']}   (per round: {', '.join(map(str, m['rps_rounds']))}){extra}"
        )
        lines.append(
            f"  {'':<38} worker CPU {m['worker_cpu_ms_per_request']:.3f} ms/request; during these rounds "
            f"database {m['db_cpu_s']:.1f} s, editor {m['editor_cpu_s']:.1f} s CPU"
        )
    lines.append(
        f"  on/off: throughput x{s['ratio_on_over_off']:.2f} (goal >= 0.9); all/off: x{s['ratio_all_over_off']:.2f}; "
        f"worker CPU per request, off/on: x{s['cpu_ratio_off_over_on']:.2f}"
    )
    d = s["delivery_ms"]
    lines.append(
        f"  delivery, request sent -> message on the editor's /comms, {d['n']} in sequence: "
        f"p50 {d['p50']:.0f} ms, p90 {d['p90']:.0f} ms, max {d['max']:.0f} ms (goal: within 2 s)"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.debug_forwarding")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds over the modes")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    s = run(args.duration, args.rounds)
    print(json.dumps(s, indent=2) if args.json else report(s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
