"""Throughput cost of publishing the flows as an API: an auth rule and CORS on a worker, against the same
flow on a worker with neither, in the same run.

One run starts SecantusDB, an editor and three workers on the same database that differ only in their API
settings (docs/api.md):
  on     a bearer rule for the endpoint's path (`/bench/**`, two clients in NODE_RED_HTTP_TOKENS) and CORS
         for one origin; wrk sends the token and the Origin, so every request is authenticated and gets
         its CORS headers
  off    neither (what every worker did before)
  off-b  the same as off: the spread between two identical workers is the noise of this machine
and deploys one GET endpoint. wrk loads each worker straight on its own port (one thread, 8 connections),
with the same requests (a client of the API sends its token and its Origin whether or not the worker checks
them: only the checking differs), in rounds of one run per mode back to back (each round in another order),
so the modes of a round see the same machine state: the figure is the median over rounds of each round's
ratio to "off", the floor measured in the same round (on a shared machine the load drifts between rounds
far more than within one). Also the worker CPU per request (from /proc). Prints figures and the load
average; asserts nothing about time.

    venv/bin/python -m bench.api_overhead [--duration 3] [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

from local_stack import AdminClient, MongoServer, NodeRedInstance
from local_stack.flows import endpoint, tab
from local_stack.http_api import HttpApi

from .debug_forwarding import cpu_seconds
from .router_overhead import DONE, wrk

TOKEN = "bench-token-0123456789abcdef"
ORIGIN = "https://app.example.com"
API = HttpApi(
    auth={"default": "none", "rules": [{"path": "/public/*", "type": "none"}, {"path": "/bench/**", "type": "bearer"}]},
    tokens={"bench-client": TOKEN, "other-client": "other-token-0123456789abcdef"},
    cors={"origins": [ORIGIN, "https://other.example.com"]},
)
MODES = {"on": API, "off": None, "off-b": None}
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Origin": ORIGIN}
SCRIPT = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in HEADERS.items()) + DONE


def run(duration: float, rounds: int) -> dict:
    base = Path(tempfile.mkdtemp(prefix="bench-api-"))
    mongo = MongoServer(storage_dir=base / "mongo", log_path=base / "secantusd.log")
    instances: list[NodeRedInstance] = []
    try:
        mongo.start()
        db = f"bench_{uuid.uuid4().hex[:8]}"

        def make(role: str, name: str, api: HttpApi | None = None) -> NodeRedInstance:
            inst = NodeRedInstance(role, mongo.url, db, instance_id=name, user_dir=base / name, api=api)
            instances.append(inst)
            return inst.start()

        editor = make("editor", "editor")
        workers = {mode: make("worker", f"worker-{mode}", api) for mode, api in MODES.items()}
        for inst in instances:
            inst.wait_ready(timeout=120)
        admin = AdminClient(editor.url, editor.editor_user, editor.editor_password or "")
        rev = admin.deploy(
            [tab("t", "bench"), *endpoint("t", "hi", "/bench/hello", "get", "msg.payload = 'hi';\nreturn msg;")]
        )
        for w in workers.values():
            w.wait_ready(rev=rev)
        urls = {mode: w.node_url + "/bench/hello" for mode, w in workers.items()}
        for mode in MODES:
            check = wrk(urls[mode], SCRIPT, 1, 8, 2)  # warm-up, and every answer a 200
            if check["errors"]:
                raise RuntimeError(f"{mode}: {check['errors']} errors (non-2xx answers) in the warm-up")
        results: dict[str, list[dict]] = {mode: [] for mode in MODES}
        cpu = dict.fromkeys(MODES, 0.0)
        order = list(MODES)
        for i in range(rounds):
            # Each round starts with another mode: no mode always runs first (or after the same one).
            for mode in order[i % len(order) :] + order[: i % len(order)]:
                pids = workers[mode]._node_pids()
                start = cpu_seconds(pids)
                results[mode].append(wrk(urls[mode], SCRIPT, 1, 8, duration))
                cpu[mode] += cpu_seconds(pids) - start
        load = os.getloadavg()
    finally:
        for inst in instances:
            inst.stop()
        mongo.stop()
    summary: dict = {"duration_s": duration, "rounds": rounds, "loadavg": [round(x, 2) for x in load], "modes": {}}
    for mode, rs in results.items():
        requests_done = sum(r["requests"] for r in rs)
        summary["modes"][mode] = {
            "rps": statistics.median(r["rps"] for r in rs),
            "rps_rounds": [round(r["rps"]) for r in rs],
            "p99_ms": statistics.median(r["p99_us"] for r in rs) / 1000,
            "errors": sum(r["errors"] for r in rs),
            "requests": requests_done,
            "worker_cpu_us_per_request": 1e6 * cpu[mode] / max(1, requests_done),
        }
    m = summary["modes"]

    def per_round(mode: str) -> list[float]:
        return [a["rps"] / b["rps"] for a, b in zip(results[mode], results["off"], strict=True)]

    summary["ratio_on_over_off"] = statistics.median(per_round("on"))
    summary["ratio_offb_over_off"] = statistics.median(per_round("off-b"))
    summary["ratio_rounds"] = [round(r, 2) for r in per_round("on")]
    summary["cpu_ratio_on_over_off"] = m["on"]["worker_cpu_us_per_request"] / m["off"]["worker_cpu_us_per_request"]
    return summary


def report(s: dict) -> str:
    label = {"on": "auth rule (bearer) + CORS", "off": "neither", "off-b": "neither (a second worker: noise)"}
    lines = [
        f"API overhead: one worker per mode, straight to it, wrk 1 thread x 8 connections, {s['rounds']} alternating "
        f"rounds of {s['duration_s']:.0f}s (medians); load average {' '.join(map(str, s['loadavg']))}"
    ]
    for mode, m in s["modes"].items():
        lines.append(
            f"  {label[mode]:<34} {m['rps']:8.0f} req/s   p99 {m['p99_ms']:6.2f} ms   errors {m['errors']} of "
            f"{m['requests']}   worker CPU {m['worker_cpu_us_per_request']:.0f} us/request   "
            f"(per round: {', '.join(map(str, m['rps_rounds']))})"
        )
    lines.append(
        f"  on/off: throughput x{s['ratio_on_over_off']:.2f} (goal >= 0.9; median of the rounds' ratios "
        f"{', '.join(map(str, s['ratio_rounds']))}); off-b/off x{s['ratio_offb_over_off']:.2f} (the same worker "
        f"twice); worker CPU per request on/off x{s['cpu_ratio_on_over_off']:.2f}"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.api_overhead")
    p.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    p.add_argument("--rounds", type=int, default=9, help="rounds of one measurement per mode")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    s = run(args.duration, args.rounds)
    print(json.dumps(s, indent=2) if args.json else report(s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
