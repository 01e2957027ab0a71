"""A loopback HTTP server that records what flows POST to it, when: which instance ran a timer, when.

Flows built by local_stack.cluster_flows send {"kind": ..., "instance": ...} to <collector.url>/<kind>;
each POST is kept as an Event with the collector's own monotonic arrival time, so tests and benchmarks
see where and how often a flow ran without asking the instances.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Event:
    at: float  # time.monotonic() on arrival
    kind: str  # the path without its "/"
    instance: str | None
    body: dict


def runs(events: list[Event]) -> list[str]:
    """The instances in the order they sent, one entry per uninterrupted run: ["w1", "w2"] is one handover;
    ["w1", "w2", "w1"] means two instances ran the same flow at the same time."""
    order: list[str] = []
    for e in sorted(events, key=lambda e: e.at):
        if not order or order[-1] != e.instance:
            order.append(str(e.instance))
    return order


class Collector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"raw": raw.decode(errors="replace")}
                event = Event(time.monotonic(), self.path.strip("/"), body.get("instance"), body)
                with collector._lock:
                    collector._events.append(event)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def events(self, kind: str | None = None, since: float = 0.0) -> list[Event]:
        with self._lock:
            return [e for e in self._events if (kind is None or e.kind == kind) and e.at >= since]

    def wait_for(self, kind: str, count: int = 1, since: float = 0.0, timeout: float = 30.0) -> list[Event]:
        """The events of `kind` since `since` once there are at least `count`; TimeoutError after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.events(kind, since)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} {kind!r} events within {timeout} s: {found[-5:]}")
            time.sleep(0.05)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
