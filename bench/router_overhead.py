"""Router overhead: requests/s and latency through nginx against straight to the workers.

One run starts the local stack (SecantusDB, editor, N workers, nginx with the rendered config),
deploys a trivial GET endpoint, and loads it with wrk (Debian's package) alternately
  direct: one wrk thread per worker, each thread's connections to its own worker (wrk's setup()
          hook sets the thread's address), so all workers get the same share as behind the router;
  router: the same threads and connections, all to nginx, which spreads them over the workers.
Everything shares this machine's cores, so the figures include nginx's CPU cost, not network time.
Prints figures; asserts nothing about time.

    venv/bin/python -m bench.router_overhead [--workers 3] [--duration 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from local_stack import LocalStack
from local_stack.flows import whoami_flow

DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))
end
"""


def direct_script(ports: list[int]) -> str:
    # One thread per worker: thread i connects to ports[i].
    return (
        "local ports = {" + ", ".join(map(str, ports)) + "}\nlocal n = 0\n"
        "function setup(thread)\n  n = n + 1\n"
        "  thread.addr = wrk.lookup('127.0.0.1', tostring(ports[((n - 1) % #ports) + 1]))[1]\nend\n" + DONE
    )


def wrk(url: str, script: str, threads: int, connections: int, duration: float) -> dict:
    exe = shutil.which("wrk")
    if not exe:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        p = subprocess.run(
            [
                exe,
                "-t",
                str(threads),
                "-c",
                str(connections),
                "-d",
                f"{max(1, round(duration))}s",
                "--timeout",
                "5s",
                "-s",
                f.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
        )
    finally:
        Path(f.name).unlink()
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("WRKJSON ")]
    if p.returncode != 0 or not line:
        raise RuntimeError(f"wrk failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    r = json.loads(line[0][len("WRKJSON ") :])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["status"] + r["timeout"]
    return r


def run(workers: int, duration: float, rounds: int, connections_per_worker: int = 4) -> dict:
    with LocalStack(workers=workers) as stack:
        stack.deploy(whoami_flow("bench"))
        path = stack.http_node_root + "/whoami"
        direct_url = f"http://127.0.0.1:{stack.workers[0].port}{path}"  # host overridden per thread
        router_url = stack.url + path
        script = direct_script([w.port for w in stack.workers])
        conns = workers * connections_per_worker
        wrk(router_url, DONE, workers, conns, 2)  # warm-up: JIT, keepalive pools
        wrk(direct_url, script, workers, conns, 2)
        results: dict[str, list[dict[str, Any]]] = {"direct": [], "router": []}
        for _ in range(rounds):
            results["direct"].append(wrk(direct_url, script, workers, conns, duration))
            results["router"].append(wrk(router_url, DONE, workers, conns, duration))
    summary: dict[str, Any] = {"workers": workers, "connections": conns, "duration_s": duration, "rounds": rounds}
    for mode, rs in results.items():
        summary[mode] = {
            "rps": statistics.median(r["rps"] for r in rs),
            "rps_rounds": [round(r["rps"]) for r in rs],
            "p50_ms": statistics.median(r["p50_us"] for r in rs) / 1000,
            "p99_ms": statistics.median(r["p99_us"] for r in rs) / 1000,
            "max_ms": max(r["max_us"] for r in rs) / 1000,
            "errors": sum(r["errors"] for r in rs),
            "requests": sum(r["requests"] for r in rs),
        }
    summary["rps_ratio_router_over_direct"] = summary["router"]["rps"] / summary["direct"]["rps"]
    summary["p99_ratio_router_over_direct"] = summary["router"]["p99_ms"] / summary["direct"]["p99_ms"]
    return summary


def report(s: dict) -> str:
    lines = [
        f"router overhead, {s['workers']} workers, wrk {s['workers']} threads x {s['connections']} "
        f"connections, {s['rounds']} alternating rounds of {s['duration_s']:.0f}s per mode (medians)"
    ]
    for mode in ("direct", "router"):
        m = s[mode]
        lines.append(
            f"  {mode:<6}  {m['rps']:8.0f} req/s   p50 {m['p50_ms']:6.2f} ms   p99 {m['p99_ms']:6.2f} ms"
            f"   max {m['max_ms']:7.1f} ms   errors {m['errors']} of {m['requests']}"
            f"   (req/s per round: {', '.join(map(str, m['rps_rounds']))})"
        )
    lines.append(
        f"  router/direct: throughput x{s['rps_ratio_router_over_direct']:.2f}, "
        f"p99 x{s['p99_ratio_router_over_direct']:.2f}"
    )
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.router_overhead")
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    p.add_argument("--rounds", type=int, default=3, help="alternating direct/router rounds")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    s = run(args.workers, args.duration, args.rounds)
    print(json.dumps(s, indent=2) if args.json else report(s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
