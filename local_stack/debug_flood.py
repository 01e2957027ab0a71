"""A debug flood through the router with a slow and a normal logged-in editor session and a quiet flow
warning once a second (tests/hostile/test_debug_flood.py; benchmarks can run it too): flood(stack)
returns what happened, asserting nothing. The stack runs debug_flows.debug_flow().

    run = flood(stack)   # run.rss_peak - run.rss_before, run.slow_notice, run.quiet_missing, ...
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import pymongo
import requests
from bson.raw_bson import RawBSONDocument
from prometheus_client.parser import text_string_to_metric_families

from .comms import EditorComms, SlowComms
from .load import Load
from .stack import LocalStack

KIB = 56  # each large request: a debug message of 61 KiB once serialized (a worker forwards up to 64 KiB)
# What the editor tells a session it held messages back from (nodered_image/lib/comms_guard.js).
SLOW_NOTICE = "not shown in this editor"


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


def stored(stack: LocalStack) -> tuple[int, int]:
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


def flood(stack: LocalStack, flood_seconds: float = 12, quiet_seconds: float = 10) -> FloodRun:
    """The scenario, with a normal and a slow logged-in session and a quiet flow warning once a second
    throughout:
      1. large messages: /dbg/big/56 from 8 connections, each at most 25 requests a second (about 200
         a second when the stack keeps up), for flood_seconds; then what the database holds;
      2. the same, and a steady stream of small messages from another flow (/dbg/stream/200: 20
         requests a second, each 200 messages 5 ms apart: about 4,000 a second), for quiet_seconds;
    then the slow session reads at full speed, and everything is collected (bounded waits; no
    assertion here)."""
    run = FloodRun()
    token = stack.admin().token
    assert token is not None and stack.editor is not None
    [editor_pid] = stack.editor._node_pids()
    with EditorComms(stack.url, token) as normal, SlowComms(stack.url, token, [SLOW_NOTICE]) as slow:
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
            sample_memory(flood_seconds)
            run.stored_bytes, run.stored_docs = stored(stack)
            run.seconds = time.monotonic() - started  # after the read: it saw at most this much flood
            with many:
                sample_memory(quiet_seconds)
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
