"""Figures for the router in front of stub upstreams (prints, asserts nothing).

    venv/bin/python -m bench.dead_worker_cost [requests]

- latency of a GET straight to a stub vs through nginx (keepalive both ways):
  what the router adds per request;
- latency of GETs while one of three workers is stopped: what a dead worker
  costs before and after nginx marks it down.
"""

from __future__ import annotations

import statistics
import sys
import time

import requests

from local_stack import LocalRouter, StubUpstream


def timed_gets(session: requests.Session, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        reply = session.get(url)
        out.append((time.perf_counter() - t) * 1000)
        assert reply.status_code == 200, reply.status_code
    return out


def summary(ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100)
    return f"n={len(ms)} p50={q[49]:.2f} ms p99={q[98]:.2f} ms max={max(ms):.2f} ms"


def main(n: int = 2000) -> None:
    workers = [StubUpstream(f"worker{i}") for i in range(1, 4)]
    editor = StubUpstream("editor")
    session = requests.Session()
    session.trust_env = False
    try:
        timed_gets(session, f"http://{workers[0].address}/red-nodes/x", 50)
        print("direct to a stub:       ", summary(timed_gets(session, f"http://{workers[0].address}/red-nodes/x", n)))
        with LocalRouter([w.address for w in workers], editor.address) as router:
            timed_gets(session, router.url + "/red-nodes/x", 50)
            print("through the router:     ", summary(timed_gets(session, router.url + "/red-nodes/x", n)))
        workers[1].stop()
        with LocalRouter([w.address for w in workers], editor.address) as router:
            first = timed_gets(session, router.url + "/red-nodes/x", 6)
            logged = router.access_log(until=lambda entries: len(entries) >= len(first))
            retried = [e for e in logged if "," in e["upstream_addr"]]
            print(
                "one worker stopped, first 6 GETs (ms):",
                " ".join(f"{m:.2f}" for m in first),
                f"-- {len(retried)} retried on another worker",
            )
            print("one worker stopped, after:", summary(timed_gets(session, router.url + "/red-nodes/x", n)))
    finally:
        session.close()
        for stub in [*workers, editor]:
            stub.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
