"""A small closed-loop HTTP load generator for tests and benchmarks.

Threads each keep one keep-alive connection and send requests back to back (optionally paced), and
record every outcome with its time, so a test can ask "what failed after moment T".
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Methods a client may send again after a connection error without asking anyone (RFC 9110 9.2.2).
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# How a server closing an idle kept-alive connection shows to the client that just sent a request on it.
_CLOSED_UNDER_US = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)  # RemoteDisconnected too


@dataclass
class Outcome:
    at: float  # time.monotonic() when the request was sent
    elapsed: float  # seconds until the answer (or the error)
    status: int | None  # HTTP status, None on a connection error / timeout
    body: str = ""
    error: str | None = None
    retried: bool = False  # sent again on a new connection (retry_reused_connection)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Load:
    """`method` `url` from `threads` threads until stop(); `interval` paces each thread (0 = back to back).

    POSTs send `body` as JSON. `source`: the loopback address the connections come from (the router's
    per-address limits count clients by it). retry_reused_connection: do what browsers and most HTTP
    client libraries do (RFC 9112 9.3.1): when a kept-alive connection that already carried a request is
    closed or reset before any byte of the answer, send an idempotent request once more on a new
    connection. A server may close an idle connection at any moment (nginx does on every reload), and a
    request sent at that moment meets the close. The outcome says retried=True."""

    url: str
    threads: int = 4
    interval: float = 0.0
    timeout: float = 10.0
    keep_body: bool = True
    method: str = "GET"
    body: dict | None = None
    retry_reused_connection: bool = False
    source: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        parts = urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"Load needs an http:// URL, got {self.url!r}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._payload = json.dumps(self.body).encode() if self.method != "GET" and self.body is not None else None
        self._headers = {"Content-Type": "application/json"} if self._payload is not None else {}

    def _connection(self) -> http.client.HTTPConnection:
        source = (self.source, 0) if self.source else None
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout, source_address=source)

    def _send(self, conn: http.client.HTTPConnection) -> tuple[int, str, bool]:
        """One request on conn: (status, body, whether the server keeps the connection)."""
        conn.request(self.method, self._target, body=self._payload, headers=self._headers)
        r = conn.getresponse()
        text = r.read().decode(errors="replace")
        return r.status, text, not r.will_close

    def _run(self) -> None:
        conn: http.client.HTTPConnection | None = None
        answered = 0  # requests answered on conn: a connection with answers is a reused one
        while not self._stop.is_set():
            t0 = time.monotonic()
            retried = False
            while True:
                if conn is None:
                    conn, answered = self._connection(), 0
                reused = answered > 0
                try:
                    status, text, keep = self._send(conn)
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conn = None
                    if (
                        self.retry_reused_connection
                        and reused
                        and not retried
                        and self.method in IDEMPOTENT
                        and isinstance(e, _CLOSED_UNDER_US)
                    ):
                        retried = True
                        continue
                    o = Outcome(
                        t0, time.monotonic() - t0, None, error=f"{type(e).__name__}: {e}"[:300], retried=retried
                    )
                    break
                answered += 1
                if not keep:
                    conn.close()
                    conn = None
                o = Outcome(t0, time.monotonic() - t0, status, text if self.keep_body else "", retried=retried)
                break
            with self._lock:
                self.outcomes.append(o)
            if self.interval:
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - t0)))
        if conn is not None:
            conn.close()

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
