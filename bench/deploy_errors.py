"""Errors while deploying under load: constant GET load through the router while 20 deploys happen.

Every request's outcome is kept; the figure is the count of non-2xx answers and connection errors
(by status / error kind), over the whole run. Each deploy changes the endpoint's function (so
every worker really swaps flows) and is waited for until every worker serves it. Prints figures.

    venv/bin/python -m bench.deploy_errors [--workers 3] [--deploys 20] [--threads 4] [--rate 400] [--deployment-type flows]

With --deployment-type flows (or nodes) each deploy is a "modified flows" deploy that changes the
endpoint's tab beside an untouched second tab, which workers apply as a diff.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
import uuid

from local_stack import Load, LocalStack
from local_stack.flows import marker_flow, whoami_flow


def summarize(outcomes, t_start, t_end) -> dict:
    kinds: collections.Counter[str] = collections.Counter()
    for o in outcomes:
        if not o.ok:
            kinds[str(o.status) if o.status is not None else (o.error or "error").split(":")[0]] += 1
    elapsed = sorted(o.elapsed for o in outcomes) or [0.0]
    return {
        "requests": len(outcomes),
        "requests_during_deploys": sum(1 for o in outcomes if t_start <= o.at <= t_end),
        "failed": sum(kinds.values()),
        "failed_by_kind": dict(kinds),
        "latency_p50_ms": statistics.median(elapsed) * 1000,
        "latency_p99_ms": elapsed[max(0, int(len(elapsed) * 0.99) - 1)] * 1000,
        "latency_max_ms": elapsed[-1] * 1000,
    }


def run(
    workers: int,
    deploys: int,
    threads: int,
    rate: float,
    pause: float,
    post_threads: int,
    deployment_type: str = "full",
) -> dict:
    with LocalStack(workers=workers) as stack:
        admin = stack.admin()
        stack.deploy(whoami_flow("start"), admin=admin)
        url = stack.api_url + "/whoami"
        # GETs, which nginx may retry on another worker, and POSTs, which it never resends.
        load = Load(url, threads=threads, interval=threads / rate, timeout=10)
        posts = Load(url, threads=post_threads, interval=0.02, timeout=10, method="POST", body={"n": 1})
        deploy_times = []
        markers = []
        with load, posts:
            time.sleep(2)
            t_start = time.monotonic()
            for i in range(deploys):
                marker = f"d{i}-{uuid.uuid4().hex[:6]}"
                t0 = time.monotonic()
                if deployment_type == "full":
                    stack.deploy(whoami_flow(marker), admin=admin, timeout=60)
                else:
                    rev = admin.deploy(whoami_flow(marker) + marker_flow("untouched"), deployment_type=deployment_type)
                    assert rev is not None, "the editor reports the revision a deploy was saved as"
                    stack.wait_workers(rev, timeout=60)
                deploy_times.append(time.monotonic() - t0)
                markers.append(marker)
                time.sleep(pause)
            t_end = time.monotonic()
            time.sleep(1)
        outcomes = load.snapshot()
        post_outcomes = posts.snapshot()
    served = collections.Counter(json.loads(o.body).get("marker") for o in outcomes if o.ok)
    get_s = summarize(outcomes, t_start, t_end)
    return {
        "workers": workers,
        "deploys": deploys,
        "deployment_type": deployment_type,
        "threads": threads,
        "target_rps": rate,
        "seconds_deploying": t_end - t_start,
        "achieved_rps": get_s["requests_during_deploys"] / (t_end - t_start) if t_end > t_start else 0.0,
        **get_s,
        "post_threads": post_threads,
        "post": summarize(post_outcomes, t_start, t_end),
        "deploy_to_all_workers_p50_ms": statistics.median(deploy_times) * 1000,
        "markers_served": sum(1 for m in markers if served.get(m)),
    }


def kinds(s: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(s["failed_by_kind"].items())) or "none"


def report(s: dict) -> str:
    p = s["post"]
    return "\n".join(
        [
            f"errors during deploys, {s['workers']} workers, {s['deploys']} {s['deployment_type']} deploys under load "
            "through the router "
            f"({s['threads']} GET clients, {s['achieved_rps']:.0f} req/s achieved of {s['target_rps']:.0f} asked)",
            f"  requests {s['requests']} ({s['requests_during_deploys']} during {s['seconds_deploying']:.1f}s of deploys)",
            f"  GET  failed (non-2xx or connection error): {s['failed']} of {s['requests']}  [{kinds(s)}]",
            f"  POST failed (non-2xx or connection error): {p['failed']} of {p['requests']}  [{kinds(p)}]"
            f"  ({s['post_threads']} client, p99 {p['latency_p99_ms']:.1f} ms)",
            f"  GET latency p50 {s['latency_p50_ms']:.1f} ms, p99 {s['latency_p99_ms']:.1f} ms, "
            f"max {s['latency_max_ms']:.1f} ms",
            f"  each deploy: POST /flows through the router + wait for every worker's /healthz (polled every 100 ms),"
            f" p50 {s['deploy_to_all_workers_p50_ms']:.0f} ms; deploys seen by clients: {s['markers_served']} of "
            f"{s['deploys']}",
        ]
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.deploy_errors")
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--deploys", type=int, default=20)
    p.add_argument("--threads", type=int, default=4, help="client threads, each with one keep-alive connection")
    p.add_argument("--rate", type=float, default=400.0, help="requests per second asked of all clients together")
    p.add_argument("--post-threads", type=int, default=1, help="clients POSTing (about 50/s each)")
    p.add_argument("--pause", type=float, default=0.5, help="seconds between deploys")
    p.add_argument("--deployment-type", choices=["full", "flows", "nodes"], default="full")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    s = run(args.workers, args.deploys, args.threads, args.rate, args.pause, args.post_threads, args.deployment_type)
    print(json.dumps(s, indent=2) if args.json else report(s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
