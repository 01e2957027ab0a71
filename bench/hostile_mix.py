"""What hostile and unlucky clients cost everyone else: normal load through the router for a while
with nothing else (the clean run), then the same load again while every hostile pattern runs at once,
each from its own loopback address and with bounded counts. Prints the normal requests' success rate
and latency in both runs (the goal: >= 99.9 % success, p99 within 1.5x of the clean run), what the
attackers got, and the load average. Asserts nothing.

    venv/bin/python -m bench.hostile_mix [--duration 60] [--workers 3] [--rate 200] [--json]
                                         [--only WORD ...] [--without WORD ...] [--debug-forward-kib KIB]
                                         [--no-floor] [--rounds N]

Both runs also deploy a small change every 10 s (an editor at work), so a launcher that lets abandoned
requests slow its swaps down would show in the second run's deploy times and latencies.

The patterns (docs/security.md): requests with `Upgrade: h2c` and websocket
upgrades to plain flow endpoints; unauthenticated editor websockets kept open as long as allowed; wrong
passwords for the admin (while the admin logs in from another address); raw paths with dot segments;
instance health and version paths; bodies over the limit (with and without Content-Length); requests
given up after 5 ms (some while held during the deploys' swaps); slowloris connections, header floods
and request smuggling; request bodies sent a byte at a time from one address (its 512 in flight and
more); login fields that are no string (each shape from an address of its own) and `username[]=admin`
with a wrong password; a debug flood (local_stack.debug_flood: large messages and a stream of small
ones) while a logged-in editor session reads its websocket slowly. Normal clients come from addresses
no attacker uses (the router's limits count by address). `--only` / `--without` run the patterns whose
name contains / does not contain one of the words given (to see which one costs what).

The workers forward up to 512 KiB of debug output a second each (NODE_RED_DEBUG_FORWARD_KIB; the
default is 64), as in tests/hostile/test_debug_flood.py: at the default, the 192 KiB a second that reach
the editor fill the socket buffers between it and a slow session (several MiB) for minutes before the
editor itself holds anything back, so within a run of a minute the slow session would cost nothing and
the pattern would test nothing. `--debug-forward-kib 64` runs the default.

The floor (when the debug flood runs; `--no-floor` leaves it out): a third run, the hostile one again with
the flood's debug nodes taken out of the flows (the flood's requests, their function nodes and every other
pattern unchanged): what serving the flood costs the normal load when it makes no debug output. The
hostile run's p99 against it is what the debug output itself costs.

Rounds (`--rounds N`, default 1): the clean, hostile and floor runs N times, in turn, the order reversed
every other round (clean, hostile, floor; then floor, hostile, clean), so a slow spell of the machine
lands on all three rather than on one run; each round's ratios are printed, then their medians.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

import requests

from local_stack import Load, LocalStack, Outcome
from local_stack.debug_flood import DebugFlood, FloodRun, stored
from local_stack.debug_flows import BIG_NODE, FLOOD_NODE, debug_flow
from local_stack.flows import whoami_flow
from local_stack.hostile import ARRAY_USERNAME, FORM, malformed_logins
from local_stack.nodered import DEFAULT_EDITOR_PASSWORD
from local_stack.procs import tree
from local_stack.raw_client import (
    answered,
    closed_by_peer,
    connect,
    open_slow_body,
    read_reply,
    request_bytes,
    send,
    send_chunked,
    trickle,
    websocket_upgrade_headers,
)
from nginx.render import per_address_limits

from .debug_forwarding import cpu_seconds

DEPLOY_EVERY = 10.0  # seconds between the editor's small deploys, in both runs
H2C = {"Connection": "Upgrade, HTTP2-Settings", "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA"}
# Addresses of the well-behaved: attackers use 127.0.1.x and 127.0.3.x.
NORMAL = "127.0.2.2"  # the GET and POST clients
ADMIN = "127.0.2.1"  # the admin's logins
EDITOR_USER = "127.0.2.3"  # a normal editor session watching the debug flood
SLOW_EXTRA = 64  # slow bodies beyond the per-address limit
DEBUG_FORWARD_KIB = 512  # the workers' debug budget (see above)
FLOOD = "debug flood with a slow editor session"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values) or [0.0]
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * q) - 1))]


class Attack:
    """One pattern: `step()` repeated every `interval` s until stopped or `limit` steps ran (bounded
    counts); every answer's status (None: no answer) counted."""

    def __init__(
        self, name: str, step: Callable[[], list], interval: float, limit: int, notes: dict[str, int] | None = None
    ):
        self.name, self.step, self.interval, self.limit = name, step, interval, limit
        self.statuses: collections.Counter[str] = collections.Counter()
        self.notes = notes if notes is not None else {}  # other figures the step keeps
        self.steps = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"attack-{name}")

    def _run(self) -> None:
        while not self._stop.is_set() and self.steps < self.limit:
            t0 = time.monotonic()
            try:
                for status in self.step():
                    self.statuses[str(status) if status is not None else "no answer"] += 1
            except OSError as e:
                self.statuses[type(e).__name__] += 1
            self.steps += 1
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - t0)))

    def start(self) -> Attack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def figures(self) -> dict:
        return {**dict(sorted(self.statuses.items())), **self.notes}


def attacks(stack: LocalStack) -> tuple[list[Attack], Callable[[], None]]:
    """The patterns (not started) and what closes the sockets they keep."""
    port = stack.router.port if stack.router else 0
    root = stack.http_node_root
    login_body = urlencode(
        {"client_id": "node-red-admin", "grant_type": "password", "scope": "*", "username": "admin"}
    ).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    big = b"b" * (stack.body_limit_mb * 1024 * 1024 + 1)
    comms_open: list = []

    def h2c():
        return [send(port, "GET", f"{root}/whoami", H2C, source="127.0.1.1").status for _ in range(4)]

    def websocket_to_plain_endpoint():
        return [send(port, "GET", f"{root}/whoami", websocket_upgrade_headers(), source="127.0.1.2").status]

    def comms():
        # Keep as many unauthenticated editor websockets open as the stack allows (at most 300 tried).
        closed = [s for s in comms_open if closed_by_peer(s)]
        comms_open[:] = [s for s in comms_open if s not in closed]
        statuses: list[int | str | None] = ["closed by the editor"] * len(closed)
        while len(comms_open) < 300 and len(statuses) < 20:
            s = connect(port, "127.0.1.3")
            s.sendall(request_bytes("GET", "/comms", websocket_upgrade_headers()))
            reply = read_reply(s, timeout=5)
            statuses.append(reply.status)
            if reply.status == 101:
                comms_open.append(s)
            else:
                s.close()
        return statuses

    def wrong_passwords():
        body = login_body + b"&password=guess-" + uuid.uuid4().hex.encode()
        return [send(port, "POST", "/auth/token", form, body, source="127.0.1.4").status]

    def dot_paths():
        paths = [f"{root}/whoami/../..", f"{root}/%2e%2e/flows", f"{root}/..%2fsettings"]
        return [send(port, "GET", p, source="127.0.1.5").status for p in paths]

    def instance_paths():
        return [send(port, "GET", p, source="127.0.1.6").status for p in ("/healthz", "/livez", "/red/about")]

    def big_bodies():
        return [
            send(port, "POST", f"{root}/whoami", {"Content-Type": "application/json"}, big, "127.0.1.7").status,
            send_chunked(port, f"{root}/whoami", big, source="127.0.1.7").status,
        ]

    def give_up():
        try:
            with connect(port, "127.0.1.8") as s:
                s.sendall(request_bytes("GET", f"{root}/whoami", {"Connection": "keep-alive"}))
                s.settimeout(0.005)
                s.recv(1)
        except OSError:
            return [None]  # gave up before the answer
        return [200]

    slow: list = []

    def slowloris():
        # Hold up to 100 connections sending their headers a line at a time.
        cut = [s for s in slow if closed_by_peer(s)]
        slow[:] = [s for s in slow if s not in cut]
        for s in slow:
            try:
                s.sendall(b"X-a: b\r\n")
            except OSError:
                pass
        opened = 0
        while len(slow) < 100 and opened < 20:
            s = connect(port, "127.0.1.9")
            s.sendall(b"GET " + root.encode() + b"/whoami HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
            opened += 1
        return ["opened"] * opened + ["cut off by the router"] * len(cut)

    def floods_and_smuggling():
        smuggled = b"0\r\n\r\nGET " + root.encode() + b"/whoami HTTP/1.1\r\nHost: x\r\n\r\n"
        return [
            send(port, "GET", f"{root}/whoami", {"X-Big": "a" * 70_000}, source="127.0.1.10").status,
            send(
                port,
                "POST",
                f"{root}/whoami",
                {"Content-Length": str(len(smuggled)), "Transfer-Encoding": "chunked"},
                smuggled,
                source="127.0.1.10",
            ).status,
        ]

    bodies: list = []
    most_bodies = per_address_limits()["all"] + SLOW_EXTRA
    bodies_held = {"most held at once": 0}

    def slow_bodies():
        # As many request bodies a byte at a time as the address may have in flight, and 64 more:
        # those over the limit are answered (429) and opened again on the next step.
        got = answered(bodies)
        statuses: list[int | str | None] = [read_reply(s, timeout=2).status or "closed by the router" for s in got]
        for s in got:
            s.close()
        held = trickle([s for s in bodies if s not in got])  # every 2 s: well within client_body_timeout
        statuses += ["closed by the router"] * (len(bodies) - len(got) - len(held))
        bodies_held["most held at once"] = max(bodies_held["most held at once"], len(held))
        bodies[:] = held
        try:
            while len(bodies) < most_bodies:
                bodies.append(open_slow_body(port, f"{root}/whoami", source="127.0.1.11"))
        except OSError as e:
            statuses.append(type(e).__name__)
        return statuses

    shapes = malformed_logins()

    def malformed():
        # Each shape from an address of its own, once a second: 5 counted failures, then that address's lockout.
        return [
            send(port, "POST", "/auth/token", headers, body, source=f"127.0.3.{i + 1}").status
            for i, (_, headers, body) in enumerate(shapes)
        ]

    def array_username():
        return [send(port, "POST", "/auth/token", FORM, ARRAY_USERNAME, source="127.0.1.12").status]

    def close_all():
        for s in comms_open + slow + bodies:
            s.close()

    made = [
        Attack("h2c upgrades to a flow (4 a second)", h2c, 1.0, 10_000),
        Attack("websocket upgrades to a plain flow endpoint", websocket_to_plain_endpoint, 1.0, 10_000),
        Attack("unauthenticated /comms sockets kept open", comms, 0.5, 10_000),
        Attack("wrong admin passwords (5 a second)", wrong_passwords, 0.2, 10_000),
        Attack("raw paths with dot segments", dot_paths, 0.5, 10_000),
        Attack("/healthz, /livez, /red/about", instance_paths, 0.5, 10_000),
        Attack("bodies over the limit (Content-Length, chunked)", big_bodies, 2.0, 10_000),
        Attack("requests given up after 5 ms (20 a second)", give_up, 0.05, 100_000),
        Attack("slowloris (100 connections)", slowloris, 1.0, 10_000),
        Attack("header floods and smuggling", floods_and_smuggling, 1.0, 10_000),
        Attack(
            f"slow bodies ({most_bodies} from one address, a byte every 2 s)", slow_bodies, 2.0, 10_000, bodies_held
        ),
        Attack(f"login fields that are no string ({len(shapes)} shapes a second)", malformed, 1.0, 10_000),
        Attack("username[]=admin with a wrong password (1 a second)", array_username, 1.0, 10_000),
    ]
    return made, close_all


def admin_logins(stack: LocalStack, stop: threading.Event, results: list[int]) -> None:
    """The admin logs in from its own address every 5 s (the attacker guesses from another)."""
    body = urlencode(
        {
            "client_id": "node-red-admin",
            "grant_type": "password",
            "scope": "*",
            "username": "admin",
            "password": DEFAULT_EDITOR_PASSWORD,
        }
    ).encode()
    port = stack.router.port if stack.router else 0
    while not stop.wait(5):
        reply = send(port, "POST", "/auth/token", {"Content-Type": "application/x-www-form-urlencoded"}, body, ADMIN)
        results.append(reply.status or 0)


def flood_figures(run: FloodRun, stack: LocalStack) -> dict:
    """What the debug flood got and cost, in the same shape as an attack's figures."""
    stored_bytes, stored_docs = stored(stack)
    return {
        **{f"flood requests {k}": v for k, v in sorted(run.requests.items(), key=str)},
        "debug messages dropped by the workers (over their budget)": sum(run.workers_dropped.values()),
        "debug messages not sent to the slow session": run.editor_dropped["slow"],
        "slow session told what it missed": run.slow_notice,
        "slow session closed by the editor": run.slow_closed,
        "quiet flow's warnings arrived": f"{len(run.quiet_tags) - len(run.quiet_missing)} of {len(run.quiet_tags)}",
        "editor RSS MiB before/peak/end": f"{run.rss_before:.0f}/{run.rss_peak:.0f}/{run.rss_end:.0f}",
        "debug collection after the run": f"{stored_docs} documents, {stored_bytes / 2**20:.1f} MiB",
    }


def _normal_load(url: str, rate: float, ready, stop, out) -> None:
    """The normal clients (in a process of their own): 4 GET clients at `rate` a second together and 1
    POST client at 20 a second, from NORMAL, until `stop` is set; sends back every outcome."""
    gets = Load(url, threads=4, interval=4 / rate, timeout=10, keep_body=False, source=NORMAL)
    posts = Load(url, 1, 0.05, timeout=10, method="POST", body={"n": 1}, keep_body=False, source=NORMAL)
    with gets, posts:
        ready.set()
        stop.wait()
    out.send(gets.snapshot() + posts.snapshot())


class NormalClients:
    """The normal load in a process of its own, so its latencies never include waits for the attackers'
    threads (the threads of one Python process share one interpreter lock)."""

    def __init__(self, url: str, rate: float):
        ctx = multiprocessing.get_context("spawn")
        self._ready, self._stop = ctx.Event(), ctx.Event()
        self._results, sender = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_normal_load, args=(url, rate, self._ready, self._stop, sender), daemon=True)

    def __enter__(self) -> NormalClients:
        self.proc.start()
        if not self._ready.wait(60):
            self.proc.kill()
            raise RuntimeError("the normal clients' process did not start")
        return self

    def stop(self) -> list[Outcome]:
        self._stop.set()
        outcomes = self._results.recv()
        self.proc.join(30)
        return outcomes

    def __exit__(self, *exc) -> None:
        if self.proc.is_alive():
            self.proc.kill()


def processes(stack: LocalStack, clients: NormalClients) -> dict[str, list[int]]:
    """The stack's processes by part, the normal clients' and this one (the attackers')."""
    assert stack.editor and stack.router and stack.router.proc and stack.mongo.proc
    return {
        "workers": [p for w in stack.workers for p in w._node_pids()],
        "editor": stack.editor._node_pids(),
        "router": tree(stack.router.proc.pid),
        "database": tree(stack.mongo.proc.pid),
        "normal clients": [clients.proc.pid or 0],
        "attackers": [os.getpid()],
    }


def chosen(name: str, only: list[str], without: list[str]) -> bool:
    return (not only or any(w in name for w in only)) and not any(w in name for w in without)


def one_run(
    stack: LocalStack,
    duration: float,
    rate: float,
    patterns: tuple[list[str], list[str]] | None,
    debug_output: bool = True,
) -> dict:
    """The normal load for `duration` s; with the patterns chosen by (only, without) (None: none), all
    started before the normal clients and stopped after them. The deploys deploy flows(debug_output)."""
    hostile = patterns is not None
    admin = stack.admin()
    url = stack.api_url + "/whoami"
    clients = NormalClients(url, rate)
    running, close_all = attacks(stack) if hostile else ([], lambda: None)
    running = [a for a in running if patterns and chosen(a.name, *patterns)]
    flooding = patterns is not None and chosen(FLOOD, *patterns)
    logins: list[int] = []
    stop_logins = threading.Event()
    login_thread = threading.Thread(target=admin_logins, args=(stack, stop_logins, logins), daemon=True)
    deploy_ms: list[float] = []
    flood = DebugFlood(stack, "127.0.1.13", slow_source="127.0.1.14", normal_source=EDITOR_USER) if flooding else None
    with flood or contextlib.nullcontext():
        if flood:
            flood.big()
            flood.stream()
        for a in running:
            a.start()
        if hostile:
            login_thread.start()
        with clients:
            load_start = os.getloadavg()
            parts = processes(stack, clients)
            cpu_start = {name: cpu_seconds(pids) for name, pids in parts.items()}
            began = time.monotonic()
            next_deploy = began + DEPLOY_EVERY / 2
            while time.monotonic() - began < duration:
                if time.monotonic() >= next_deploy:
                    t0 = time.monotonic()
                    stack.deploy(flows(uuid.uuid4().hex[:8], debug_output), admin=admin, timeout=60)
                    deploy_ms.append((time.monotonic() - t0) * 1000)
                    next_deploy += DEPLOY_EVERY
                time.sleep(0.1)  # pacing: the deploys' clock
            load_end = os.getloadavg()
            cpu = {name: cpu_seconds(pids) - cpu_start[name] for name, pids in parts.items()}
            outcomes = clients.stop()
        for a in running:
            a.stop()
        stop_logins.set()
        if hostile:
            login_thread.join(30)
        close_all()
        figures = {a.name: a.figures() for a in running}
        if flood:
            figures[FLOOD] = flood_figures(flood.finish(), stack)
    failed = [o for o in outcomes if not o.ok]
    elapsed = [o.elapsed * 1000 for o in outcomes]
    kinds = collections.Counter(
        str(o.status) if o.status is not None else (o.error or "?").split(":")[0] for o in failed
    )
    return {
        "requests": len(outcomes),
        "failed": len(failed),
        "failed_by_kind": dict(kinds),
        "success_percent": 100.0 * (len(outcomes) - len(failed)) / max(1, len(outcomes)),
        "p50_ms": statistics.median(elapsed) if elapsed else 0.0,
        "p99_ms": percentile(elapsed, 0.99),
        "max_ms": max(elapsed, default=0.0),
        "deploys": len(deploy_ms),
        "deploy_p50_ms": statistics.median(deploy_ms) if deploy_ms else 0.0,
        "deploy_max_ms": max(deploy_ms, default=0.0),
        "load_average_start": load_start,
        "load_average_end": load_end,
        "cpu_seconds": cpu,
        "attacks": figures,
        "admin_logins": {"ok": logins.count(200), "of": len(logins)},
    }


def flows(marker: str, debug_output: bool = True) -> list[dict]:
    """The normal load's endpoint and the debug flood's flows, deployed together (a full deploy);
    without debug_output, the flood's debug nodes are taken out (the floor)."""
    nodes = whoami_flow(marker) + debug_flow()
    if debug_output:
        return nodes
    gone = {BIG_NODE, FLOOD_NODE}
    return [
        {**n, "wires": [[w for w in out if w not in gone] for out in n["wires"]]} if "wires" in n else n
        for n in nodes
        if n["id"] not in gone
    ]


def run(
    workers: int,
    duration: float,
    rate: float,
    only: list[str],
    without: list[str],
    debug_forward_kib: int,
    floor: bool = True,
    rounds: int = 1,
) -> dict:
    env = {"NODE_RED_DEBUG_FORWARD_KIB": str(debug_forward_kib)}
    kinds = ["clean", "hostile"] + (["floor"] if floor and chosen(FLOOD, only, without) else [])
    done: list[dict] = []
    with LocalStack(workers=workers, extra_env=env) as stack:
        stack.deploy(flows("start"))
        debug_output = True  # what the deployed flows have
        with requests.Session() as warm:  # connections and JIT warm before either run counts
            for _ in range(200):
                warm.get(stack.api_url + "/whoami", timeout=10)
        for r in range(rounds):
            results: dict[str, dict | None] = {"floor": None}
            for kind in kinds if r % 2 == 0 else kinds[::-1]:
                wanted = kind != "floor"  # the floor's flows have no debug nodes in the flood
                if wanted != debug_output:
                    stack.deploy(flows(kind, debug_output=wanted))
                    debug_output = wanted
                patterns = None if kind == "clean" else (only, without)
                results[kind] = one_run(stack, duration, rate, patterns, debug_output=wanted)
            done.append(results)
    return {
        "workers": workers,
        "duration_s": duration,
        "rate": rate,
        "only": only,
        "without": without,
        "debug_forward_kib": debug_forward_kib,
        **done[0],  # the first round's runs (clean, hostile, floor), as with one round
        "rounds": done,
    }


def ratios(rnd: dict) -> dict[str, float]:
    """A round's p99 ratios: hostile / clean, floor / clean, hostile / floor (where there is a floor)."""
    c, h, f = rnd["clean"]["p99_ms"], rnd["hostile"]["p99_ms"], (rnd.get("floor") or {}).get("p99_ms")
    out = {"hostile/clean": h / c if c else float("inf")}
    if f:
        out["floor/clean"] = f / c if c else float("inf")
        out["hostile/floor"] = h / f
    return out


def report(s: dict) -> str:
    c, h = s["clean"], s["hostile"]

    def row(name: str, r: dict) -> str:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(r["failed_by_kind"].items())) or "none"
        la = "/".join(f"{x:.2f}" for x in r["load_average_start"]), "/".join(f"{x:.2f}" for x in r["load_average_end"])
        return (
            f"  {name:<8} {r['requests']:>6} requests, {r['success_percent']:.3f} % ok (failed {r['failed']}: {kinds}); "
            f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.0f} ms; "
            f"{r['deploys']} deploys p50 {r['deploy_p50_ms']:.0f} ms, max {r['deploy_max_ms']:.0f} ms; "
            f"load average {la[0]} -> {la[1]}; CPU s: " + ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_seconds"].items())
        )

    ratio = h["p99_ms"] / c["p99_ms"] if c["p99_ms"] else float("inf")
    lines = [
        f"hostile mix, {s['workers']} workers, {s['duration_s']:.0f} s per run, normal load through the router: "
        f"4 GET clients at {s['rate']:.0f} req/s + 1 POST client at 20/s, a small deploy every {DEPLOY_EVERY:.0f} s; "
        f"patterns: {', '.join(s['only']) if s['only'] else 'all'}"
        f"{' but ' + ', '.join(s['without']) if s['without'] else ''}; "
        f"debug forwarding per worker: {s['debug_forward_kib']} KiB/s",
        row("clean", c),
        row("hostile", h),
        f"  normal requests under attack: {h['success_percent']:.3f} % ok (goal >= 99.9 %), "
        f"p99 x{ratio:.2f} of the clean run (goal <= 1.5)",
    ]
    if s.get("floor"):
        f = s["floor"]
        lines += [
            row("floor", f),
            f"  the floor: the same attack, the flood's debug nodes taken out: p99 x{f['p99_ms'] / c['p99_ms']:.2f} "
            f"of the clean run; the flood's debug output costs p99 x{h['p99_ms'] / f['p99_ms']:.2f} of the floor",
        ]
    lines += [
        f"  admin logins from its own address during the attack: {h['admin_logins']['ok']} of {h['admin_logins']['of']} ok",
        "  what the attackers got (status: count, and what each pattern counted):",
    ]
    lines += [f"    {name}: {', '.join(f'{k}: {v}' for k, v in st.items())}" for name, st in h["attacks"].items()]
    more = s.get("rounds", [])[1:]
    for i, rnd in enumerate(more, start=2):
        lines.append(f"round {i} ({'clean first' if i % 2 else 'floor first'}):")
        lines += [row(kind, rnd[kind]) for kind in ("clean", "hostile", "floor") if rnd.get(kind)]
    if more:
        each = [ratios(rnd) for rnd in s["rounds"]]
        lines.append(f"p99 ratios of the {len(each)} rounds (each round's runs against each other), then their median:")
        for name in each[0]:
            values = [e[name] for e in each]
            lines.append(
                f"  {name:<14} " + ", ".join(f"x{v:.2f}" for v in values) + f"  median x{statistics.median(values):.2f}"
            )
        oks = [rnd["hostile"]["success_percent"] for rnd in s["rounds"]]
        lines.append(f"  normal requests ok under attack: lowest of the rounds {min(oks):.3f} % (goal >= 99.9 %)")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.hostile_mix")
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--duration", type=float, default=60.0, help="seconds of each run (clean, then hostile)")
    p.add_argument("--rate", type=float, default=200.0, help="GET requests per second of the normal load")
    p.add_argument("--json", action="store_true")
    p.add_argument("--only", nargs="+", default=[], metavar="WORD", help="only the patterns whose name has a word")
    p.add_argument("--without", nargs="+", default=[], metavar="WORD", help="not the patterns whose name has a word")
    p.add_argument("--debug-forward-kib", type=int, default=DEBUG_FORWARD_KIB, help="the workers' debug KiB a second")
    p.add_argument("--no-floor", action="store_true", help="no third run without the flood's debug output")
    p.add_argument("--rounds", type=int, default=1, help="the runs this many times, in turn (medians of the ratios)")
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    s = run(
        args.workers,
        args.duration,
        args.rate,
        args.only,
        args.without,
        args.debug_forward_kib,
        not args.no_floor,
        args.rounds,
    )
    print(json.dumps(s, indent=2) if args.json else report(s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
