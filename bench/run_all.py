"""Every benchmark, one after the other (what `make bench` runs). Prints figures, asserts nothing.

    venv/bin/python -m bench.run_all [--quick]   (make bench)

Each benchmark runs in its own process with its own local stack; the output is also written to
bench-results/<UTC time>.txt. A benchmark that fails is reported and the others still run; the exit
code is non-zero if any failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def plan(quick: bool) -> list[tuple[str, list[str]]]:
    py = sys.executable
    deploys = "20" if quick else "50"
    return [
        ("sync latency, 3 workers", [py, "-m", "bench.sync_latency", "--workers", "3", "--deploys", deploys]),
        ("sync latency, 6 workers", [py, "-m", "bench.sync_latency", "--workers", "6", "--deploys", deploys]),
        (
            "deploys against the floor (one plain Node-RED): small flow at 3 and 6 workers, RSS, 50-tab partial vs full",
            [py, "-m", "bench.deploy_floor", "--deploys", deploys, "--large-deploys", "5" if quick else "10"],
        ),
        (
            "idle CPU per worker, 3 workers",
            [py, "-m", "bench.idle_cpu", "--workers", "3", "--seconds", "30" if quick else "60"],
        ),
        (
            "router overhead, 3 workers",
            [py, "-m", "bench.router_overhead", "--workers", "3", "--duration", "5" if quick else "10"],
        ),
        (
            "router in front of stub workers: added latency, cost of a dead worker",
            [py, "-m", "bench.dead_worker_cost", "500" if quick else "2000"],
        ),
        (
            "debug forwarding: throughput with an active debug node, forwarding on vs off",
            [py, "-m", "bench.debug_forwarding", "--duration", "3" if quick else "5"],
        ),
        (
            "errors during 20 deploys under load, 3 workers",
            [py, "-m", "bench.deploy_errors", "--workers", "3", "--deploys", "20"],
        ),
        (
            'errors during 20 "modified flows" deploys under load, 3 workers',
            [py, "-m", "bench.deploy_errors", "--workers", "3", "--deploys", "20", "--deployment-type", "flows"],
        ),
        (
            "normal load with every hostile pattern at once vs a clean run, 3 workers",
            [py, "-m", "bench.hostile_mix", "--workers", "3", "--duration", "15" if quick else "60"],
        ),
        (
            "context operations (shared vs memory; atomic ones vs the database server) and leader failover, 3 workers",
            [py, "-m", "bench.context_ops", "--workers", "3", "--requests", "100" if quick else "300"]
            + ["--atomic", "100" if quick else "300", "--kills", "3" if quick else "10"],
        ),
        (
            "the flows as an API: req/s straight to a worker with an auth rule and CORS on vs off",
            [py, "-m", "bench.api_overhead", "--duration", "3", "--rounds", "5" if quick else "9"],
        ),
    ]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run_all")
    p.add_argument("--quick", action="store_true", help="fewer deploys and shorter load runs")
    args = p.parse_args(argv)
    out_dir = ROOT / "bench-results"
    out_dir.mkdir(exist_ok=True)
    out_path = out_dir / (dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + ".txt")
    failed = []
    with open(out_path, "w") as out:

        def emit(text: str) -> None:
            print(text, flush=True)
            out.write(text + "\n")
            out.flush()

        for title, cmd in plan(args.quick):
            emit(f"== {title}\n   $ python {' '.join(cmd[1:])}")
            t0 = time.monotonic()
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            emit(proc.stdout.rstrip())
            if proc.returncode != 0:
                failed.append(title)
                emit(f"   FAILED (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
            emit(f"   ({time.monotonic() - t0:.0f}s)\n")
        emit(f"figures written to {out_path.relative_to(ROOT)}")
        if failed:
            emit("failed: " + "; ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
