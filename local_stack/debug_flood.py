"""A debug flood through the router with a slow and a normal logged-in editor session and a quiet flow
warning once a second (tests/hostile/test_debug_flood.py): flood(stack) returns what happened, asserting
nothing. The stack runs debug_flows.debug_flow(). DebugFlood is its parts, for a caller that runs them
beside other traffic for as long as it likes (bench/hostile_mix.py).

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
from .raw_client import send
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
    rss_end: float = 0.0  # when the flood stopped
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


class DebugFlood:
    """The flood's parts. `with DebugFlood(stack) as f:` opens a normal and a slow logged-in editor
    session, checks a probe arrives, and starts a quiet flow warning once a second and samples of the
    editor's memory every 0.25 s; f.big() and f.stream() start the two floods (see flood()); f.finish()
    stops everything, lets the slow session read at full speed and collects f.run (bounded waits).
    `source` is the loopback address of the flood's requests, `slow_source` the slow session's and
    `normal_source` the normal session's (default: the system's choice for each)."""

    def __init__(
        self,
        stack: LocalStack,
        source: str | None = None,
        slow_source: str | None = None,
        normal_source: str | None = None,
    ):
        assert stack.editor is not None and stack.router is not None
        self.stack = stack
        self.source = source
        self.run = FloodRun()
        token = stack.admin().token
        assert token is not None
        [self._editor_pid] = stack.editor._node_pids()
        self.normal = EditorComms(stack.url, token, source=normal_source)
        self.slow = SlowComms(stack.url, token, [SLOW_NOTICE], source=slow_source)
        self._loads: list[Load] = []
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._quiet, daemon=True, name="flood-quiet"),
            threading.Thread(target=self._sample_memory, daemon=True, name="flood-rss"),
        ]

    def __enter__(self) -> DebugFlood:
        try:
            self.normal.open()
            self.slow.open()
            t = tag()
            requests.get(f"{self.stack.api_url}/dbg/probe/{t}", timeout=10).raise_for_status()
            self.normal.wait_for(lambda ms: [m for m in ms if t in str(m.get("msg"))], timeout=15, what="a probe")
            self.run.rss_before = self.run.rss_peak = rss_mib(self._editor_pid)
            for thread in self._threads:
                thread.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        self.slow.close()
        self.normal.close()

    def _quiet(self) -> None:
        port, root = self.stack.router.port, self.stack.http_node_root  # type: ignore[union-attr]
        while not self._stopping.wait(1.0):  # pacing: one warning a second
            q = tag()
            reply = send(port, "GET", f"{root}/dbg/quiet/{q}", source=self.source or "127.0.0.1")
            self.run.quiet_tags.append(q if reply.status == 200 else f"(request failed: {reply.status}) {q}")

    def _sample_memory(self) -> None:
        while not self._stopping.wait(0.25):  # pacing: the memory samples
            self.run.rss_samples.append(round(rss_mib(self._editor_pid)))
            self.run.rss_peak = max(self.run.rss_peak, self.run.rss_samples[-1])

    def _load(self, path: str, threads: int, interval: float) -> Load:
        load = Load(f"{self.stack.api_url}{path}", threads, interval, keep_body=False, source=self.source)
        self._loads.append(load.start())
        return load

    def big(self, threads: int = 8) -> Load:
        """Large messages: /dbg/big/56 from `threads` connections, each at most 25 requests a second."""
        return self._load(f"/dbg/big/{KIB}", threads, 0.04)

    def stream(self, threads: int = 2) -> Load:
        """Small messages: /dbg/stream/200 from `threads` connections, each 10 requests a second (each
        request 200 messages 5 ms apart)."""
        return self._load("/dbg/stream/200", threads, 0.1)

    def stop(self) -> None:
        """Ends the floods, the quiet flow and the samples (the sessions stay open for finish())."""
        self._stopping.set()
        for load in self._loads:
            load.stop()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(15)

    def finish(self) -> FloodRun:
        run = self.run
        self.stop()
        run.rss_end = rss_mib(self._editor_pid)
        run.requests = Counter(o.status for load in self._loads for o in load.snapshot())

        self.slow.fast()
        deadline = time.monotonic() + 30
        while not self.slow.seen[SLOW_NOTICE] and not self.slow.closed_by_editor and time.monotonic() < deadline:
            time.sleep(0.1)  # polling the reader thread's flag
        run.slow_notice, run.slow_closed, run.slow_received = (
            self.slow.seen[SLOW_NOTICE],
            self.slow.closed_by_editor,
            self.slow.received,
        )

        def missing(ms: list[dict]) -> list[str]:
            got = {m.get("msg") for m in ms}
            return [q for q in run.quiet_tags if f"quiet {q}" not in got]

        try:
            self.normal.wait_for(lambda ms: not missing(ms), timeout=20, what="every quiet warning")
        except TimeoutError:
            pass
        run.quiet_missing = missing(self.normal.debug())
        assert self.stack.editor is not None
        run.editor_dropped = dropped(self.stack.editor.url)
        for w in self.stack.workers:
            run.workers_dropped += dropped(w.url)
        return run


def flood(stack: LocalStack, flood_seconds: float = 12, quiet_seconds: float = 10) -> FloodRun:
    """The scenario, with a normal and a slow logged-in session and a quiet flow warning once a second
    throughout:
      1. large messages: /dbg/big/56 from 8 connections, each at most 25 requests a second (about 200
         a second when the stack keeps up), for flood_seconds; then what the database holds;
      2. the same, and a steady stream of small messages from another flow (/dbg/stream/200: 20
         requests a second, each 200 messages 5 ms apart: about 4,000 a second), for quiet_seconds;
    then the slow session reads at full speed, and everything is collected (bounded waits; no
    assertion here)."""
    with DebugFlood(stack) as f:
        started = time.monotonic()
        f.big()
        time.sleep(flood_seconds)  # pacing: the flood's first phase
        f.run.stored_bytes, f.run.stored_docs = stored(stack)
        f.run.seconds = time.monotonic() - started  # after the read: it saw at most this much flood
        f.stream()
        time.sleep(quiet_seconds)  # pacing: the second phase
        return f.finish()
