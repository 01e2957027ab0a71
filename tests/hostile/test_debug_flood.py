"""A debug flood from unauthenticated requests through the router (about 200 a second, each giving a
debug node a 61 KiB message; later also a steady stream of small ones from another flow), while a
logged-in editor session reads its websocket slowly, another reads normally, and a quiet flow on the
same workers warns once a second: what the flood costs the editor's memory, the database and the
other flows' messages. One flood (flood() below) serves the three tests.

This stack's workers forward up to NODE_RED_DEBUG_FORWARD_KIB=512 a second each (default 64): the
kernel's socket buffers between the editor, nginx and the slow reader hold several MiB, and at the
default budget the flood would take a minute to fill them and reach what the editor itself holds."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pymongo
import pytest
import requests
from bson.raw_bson import RawBSONDocument
from prometheus_client.parser import text_string_to_metric_families

from local_stack.comms import EditorComms, SlowComms
from local_stack.debug_flows import debug_flow
from local_stack.load import Load
from tests.fixtures.stacks import make_stack

KIB = 56  # each flood request: a debug message of 61 KiB once serialized (a worker forwards up to 64 KiB)
FLOOD_SECONDS = 12
QUIET_SECONDS = 10
BUDGET_KIB = 512
WORKERS = 3
# What the editor tells a session it held messages back from (lib/comms_guard.js).
SLOW_NOTICE = "not shown in this editor"
RSS_GROWTH_MIB = 64


@pytest.fixture(scope="module")
def flood_stack(request, tmp_path_factory, mongo_server):
    env = {"NODE_RED_DEBUG_FORWARD_KIB": str(BUDGET_KIB)}
    stacks = make_stack(request, tmp_path_factory, "debug-flood", workers=WORKERS, mongo=mongo_server, extra_env=env)
    stack = next(stacks)
    try:
        stack.deploy(debug_flow())
        yield stack
    finally:
        next(stacks, None)


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def dropped(url: str) -> Counter:
    text = requests.get(url + "/metrics", timeout=10).text
    out: Counter = Counter()
    for f in text_string_to_metric_families(text):
        if f.name == "nodered_debug_messages_dropped":
            for s in f.samples:
                if s.name.endswith("_total"):
                    out[s.labels["reason"]] += int(s.value)
    return out


def stored(stack) -> tuple[int, int]:
    """(bytes, documents) of the `debug` collection, as BSON."""
    client = pymongo.MongoClient(stack.mongo.url, document_class=RawBSONDocument)
    try:
        docs = list(client[stack.db]["debug"].find())
    finally:
        client.close()
    return sum(len(d.raw) for d in docs), len(docs)


@dataclass
class FloodRun:
    seconds: float = 0.0
    requests: Counter = field(default_factory=Counter)
    rss_before: float = 0.0
    rss_peak: float = 0.0
    rss_samples: list[int] = field(default_factory=list)
    stored_bytes: int = 0
    stored_docs: int = 0
    quiet_tags: list[str] = field(default_factory=list)
    quiet_missing: list[str] = field(default_factory=list)
    slow_notice: bool = False
    slow_closed: bool = False
    slow_received: int = 0
    editor_dropped: Counter = field(default_factory=Counter)
    workers_dropped: Counter = field(default_factory=Counter)


def tag() -> str:
    return uuid.uuid4().hex[:10]


def flood(stack) -> FloodRun:
    """The scenario (what bench/hostile_mix can reuse), with a normal and a slow logged-in session and a
    quiet flow warning once a second throughout:
      1. large messages: /dbg/big/56 from 8 connections, each at most 25 requests a second (about 200
         a second when the stack keeps up), for FLOOD_SECONDS; then what the database holds;
      2. the same, and a steady stream of small messages from another flow (/dbg/stream/200: 20
         requests a second, each 200 messages 5 ms apart: about 4,000 a second), for QUIET_SECONDS;
    then the slow session reads at full speed, and everything is collected (bounded waits; no
    assertion here)."""
    run = FloodRun()
    admin = stack.admin()
    [editor_pid] = stack.editor._node_pids()
    with EditorComms(stack.url, admin.token) as normal, SlowComms(stack.url, admin.token, [SLOW_NOTICE]) as slow:
        t = tag()
        requests.get(f"{stack.api_url}/dbg/probe/{t}", timeout=10).raise_for_status()
        normal.wait_for(lambda ms: [m for m in ms if t in str(m.get("msg"))], timeout=15, what="a first probe")
        run.rss_before = run.rss_peak = rss_mib(editor_pid)
        stop = threading.Event()

        def quiet() -> None:
            while not stop.wait(1.0):  # pacing: one warning a second
                q = tag()
                try:
                    requests.get(f"{stack.api_url}/dbg/quiet/{q}", timeout=10).raise_for_status()
                    run.quiet_tags.append(q)
                except requests.RequestException:
                    run.quiet_tags.append(f"(request failed) {q}")

        def sample_memory(seconds: float) -> None:
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                run.rss_samples.append(round(rss_mib(editor_pid)))
                run.rss_peak = max(run.rss_peak, run.rss_samples[-1])
                time.sleep(0.25)  # pacing: the memory samples

        quiet_thread = threading.Thread(target=quiet, daemon=True)
        big = Load(f"{stack.api_url}/dbg/big/{KIB}", threads=8, interval=0.04, keep_body=False)
        many = Load(f"{stack.api_url}/dbg/stream/200", threads=2, interval=0.1, keep_body=False)
        started = time.monotonic()
        with big:
            quiet_thread.start()
            sample_memory(FLOOD_SECONDS)
            run.stored_bytes, run.stored_docs = stored(stack)
            run.seconds = time.monotonic() - started  # after the read: it saw at most this much flood
            with many:
                sample_memory(QUIET_SECONDS)
        stop.set()
        quiet_thread.join(15)
        run.requests = Counter(o.status for o in big.snapshot() + many.snapshot())

        slow.fast()
        deadline = time.monotonic() + 30
        while not slow.seen[SLOW_NOTICE] and not slow.closed_by_editor and time.monotonic() < deadline:
            time.sleep(0.1)  # polling the reader thread's flag
        run.slow_notice, run.slow_closed, run.slow_received = (
            slow.seen[SLOW_NOTICE],
            slow.closed_by_editor,
            slow.received,
        )

        def missing(ms: list[dict]) -> list[str]:
            got = {m.get("msg") for m in ms}
            return [q for q in run.quiet_tags if f"quiet {q}" not in got]

        try:
            normal.wait_for(lambda ms: not missing(ms), timeout=20, what="every quiet warning")
        except TimeoutError:
            pass
        run.quiet_missing = missing(normal.debug())
    run.editor_dropped = dropped(stack.editor.url)
    for w in stack.workers:
        run.workers_dropped += dropped(w.url)
    return run


@pytest.fixture(scope="module")
def flood_run(flood_stack) -> FloodRun:
    run = flood(flood_stack)
    print(f"\ndebug flood: {run}")
    return run


def test_a_slow_editor_session_costs_bounded_memory_and_is_told_what_it_missed(flood_run):
    """Guards: Node-RED's comms queued every debug message for a session that read slowly (into its own
    queue and the socket) without limit: the editor grew by hundreds of MiB during a flood and kept it
    after the socket closed. Now such a session is sent no more debug messages while it is behind,
    one notice in its sidebar says how many it missed, and a normal session alongside gets all."""
    run = flood_run
    assert run.requests[200] > 0, f"the flood was answered: {dict(run.requests)}"
    growth = run.rss_peak - run.rss_before
    assert growth < RSS_GROWTH_MIB, f"the editor grew by {growth:.0f} MiB during the flood ({run})"
    assert run.slow_notice, (
        f"no drop notice in the slow session ({run.slow_received} bytes read, closed: {run.slow_closed})"
    )
    assert not run.slow_closed
    assert run.editor_dropped["slow"] > 0
    assert run.quiet_missing == [], "the normal session missed messages"


def test_a_quiet_flows_warnings_all_arrive_while_another_flow_floods(flood_run):
    """Guards: the per-worker budget was shared by all flows: a flood from one flow used it up and
    warnings of another flow on the same workers were dropped (34 of 45 arrived). Now each flow gets
    its share: every warning of the quiet flow reaches the editor."""
    run = flood_run
    assert len(run.quiet_tags) >= FLOOD_SECONDS + QUIET_SECONDS - 3
    assert run.workers_dropped["rate"] + run.workers_dropped["bytes"] > 0, "the flood was not over the budget"
    assert run.quiet_missing == [], f"{len(run.quiet_missing)} of {len(run.quiet_tags)} quiet warnings missing"


def test_stored_debug_bytes_stay_under_the_per_worker_budget(flood_run):
    """Guards: the `debug` collection took whatever the message rate let through (50 a second of 64 KiB
    per worker: hundreds of MiB within a minute, and round trips of everything else slowed down). Now
    each worker writes at most NODE_RED_DEBUG_FORWARD_KIB a second (bursts of as much again), so what
    is stored after t seconds of flood stays under workers x budget x (t + 1), BSON as stored (README:
    "Debug output of the workers, in the editor")."""
    run = flood_run
    bound = WORKERS * BUDGET_KIB * 1024 * (run.seconds + 1)
    assert run.stored_docs > 0
    assert run.stored_bytes <= bound, (
        f"{run.stored_bytes / 2**20:.1f} MiB stored in {run.seconds:.1f} s, bound {bound / 2**20:.1f} MiB"
    )
