"""A small closed-loop HTTP load generator for tests and benchmarks.

Threads each keep one keep-alive session and send requests back to back (optionally paced), and
record every outcome with its time, so a test can ask "what failed after moment T".
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import requests


@dataclass
class Outcome:
    at: float  # time.monotonic() when the request was sent
    elapsed: float  # seconds until the answer (or the error)
    status: int | None  # HTTP status, None on a connection error / timeout
    body: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Load:
    """`method` `url` from `threads` threads until stop(); `interval` paces each thread (0 = back to back).

    POSTs send `body` as JSON."""

    url: str
    threads: int = 4
    interval: float = 0.0
    timeout: float = 10.0
    keep_body: bool = True
    method: str = "GET"
    body: dict | None = None
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            t0 = time.monotonic()
            try:
                r = session.request(
                    self.method, self.url, timeout=self.timeout, json=self.body if self.method != "GET" else None
                )
                o = Outcome(t0, time.monotonic() - t0, r.status_code, r.text if self.keep_body else "")
            except requests.RequestException as e:
                o = Outcome(t0, time.monotonic() - t0, None, error=f"{type(e).__name__}: {e}"[:300])
                session.close()
                session = requests.Session()
            with self._lock:
                self.outcomes.append(o)
            if self.interval:
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - t0)))
        session.close()

    def start(self) -> Load:
        for _ in range(self.threads):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        return self.snapshot()

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)

    def failures(self, since: float = 0.0) -> list[Outcome]:
        return [o for o in self.snapshot() if o.at >= since and not o.ok]

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
