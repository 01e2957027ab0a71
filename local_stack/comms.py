"""The editor's websocket (/comms) as the editor UI uses it: authenticated with an admin API token, and
collecting what the runtime publishes (debug sidebar messages under the topic "debug", notifications,
node status), so tests and benchmarks see what a person's open editor would show.

    with EditorComms(stack.url, admin.token) as comms:
        msg = comms.wait_for(lambda m: m["topic"] == "debug" and m["data"].get("instance") == "worker-1")

SlowComms is the same session in a browser that reads slowly (a stalled tab, a slow link).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Self
from urllib.parse import urlsplit

import websocket  # websocket-client


def _connect(url: str, timeout: float, source: str | None, rcvbuf: int | None = None) -> websocket.WebSocket:
    """The websocket, on a connection from the loopback address `source` when given (the router's
    per-address limits count clients by it); `rcvbuf` is set before connecting: it caps the window the
    server may fill. Text frames are still decoded as UTF-8 (an invalid one raises), but not validated
    first by websocket-client's pure-Python check, which cost a session reading a debug flood a third of
    a core that the stack under test would otherwise have (a browser validates natively)."""
    opts = ((socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf),) if rcvbuf else ()
    if source is None:
        return websocket.create_connection(
            url, timeout=timeout, sockopt=opts, http_proxy_host=None, skip_utf8_validation=True
        )
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        for opt in opts:
            sock.setsockopt(*opt)
        sock.settimeout(timeout)
        sock.bind((source, 0))
        sock.connect((parts.hostname, parts.port or 80))
        return websocket.create_connection(url, timeout=timeout, socket=sock, skip_utf8_validation=True)
    except BaseException:
        sock.close()
        raise


class EditorComms:
    """A websocket to <base_url>/comms, logged in with `token` (AdminClient.login()); every message
    received is kept in .messages ({"topic", "data", "at"}) by a reader thread. `source`: the loopback
    address it connects from (default: the system's choice)."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0, source: str | None = None):
        self.url = base_url.rstrip("/").replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/comms"
        self.token = token
        self.timeout = timeout
        self.source = source
        self.messages: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._ws: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self.error: BaseException | None = None

    def open(self) -> Self:
        ws = _connect(self.url, self.timeout, self.source)
        ws.send(json.dumps({"auth": self.token}))
        answer = json.loads(ws.recv())
        if answer != {"auth": "ok"}:
            ws.close()
            raise PermissionError(f"{self.url}: authentication refused ({answer})")
        ws.send(json.dumps({"subscribe": "debug"}))
        ws.settimeout(1.0)
        self._ws = ws
        self._thread = threading.Thread(target=self._read, name="editor-comms", daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self._ws is not None
        while not self._closed:
            try:
                text = self._ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception as exc:  # closed by the server or by close()
                if not self._closed:
                    self.error = exc
                break
            if not text:
                continue
            payload = json.loads(text)
            batch = payload if isinstance(payload, list) else [payload]
            now = time.monotonic()
            with self._cond:
                for m in batch:
                    if isinstance(m, dict) and "topic" in m:
                        self.messages.append({"topic": m["topic"], "data": m.get("data"), "at": now})
                self._cond.notify_all()

    def debug(self, pred: Callable[[dict], bool] = lambda d: True) -> list[dict]:
        """The data of every "debug" message received so far for which pred(data) holds."""
        with self._cond:
            return [m["data"] for m in self.messages if m["topic"] == "debug" and pred(m["data"] or {})]

    def wait_for(self, pred: Callable[[list[dict]], Any], timeout: float = 10.0, what: str = "messages") -> Any:
        """Wait until pred(all debug data so far) is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = pred([m["data"] or {} for m in self.messages if m["topic"] == "debug"])
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0 or self.error is not None:
                    raise TimeoutError(f"no {what} on {self.url} within {timeout}s (error: {self.error})")
                self._cond.wait(min(left, 0.5))

    def close(self) -> None:
        self._closed = True
        if self._ws is not None:
            try:
                self._ws.close()
            except Exception:
                pass
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()


class SlowComms:
    """A logged-in /comms websocket that reads at most `rate` bytes a second with a small receive buffer,
    so what the editor sends it piles up on the way (in the editor, unless the editor holds back).
    .fast() lets it read at full speed; .seen[marker] says whether that text arrived (markers are given
    up front: the bytes are read raw and not kept). `source` as for EditorComms."""

    def __init__(
        self,
        base_url: str,
        token: str,
        markers: list[str],
        rate: int = 64 * 1024,
        rcvbuf: int = 8192,
        source: str | None = None,
    ):
        self.url = base_url.rstrip("/").replace("http://", "ws://", 1) + "/comms"
        self.token = token
        self.rate = rate
        self.rcvbuf = rcvbuf
        self.source = source
        self.seen = {m: False for m in markers}
        self.received = 0
        self.closed_by_editor = False
        self._fast = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ws: websocket.WebSocket | None = None

    def open(self) -> Self:
        ws = _connect(self.url, 10, self.source, self.rcvbuf)
        ws.send(json.dumps({"auth": self.token}))
        if json.loads(ws.recv()) != {"auth": "ok"}:
            ws.close()
            raise PermissionError(f"{self.url}: authentication refused")
        ws.send(json.dumps({"subscribe": "debug"}))
        self._ws = ws
        self._thread = threading.Thread(target=self._read, name="slow-comms", daemon=True)
        self._thread.start()
        return self

    def _read(self) -> None:
        assert self._ws is not None and self._ws.sock is not None
        sock = self._ws.sock
        sock.settimeout(0.5)
        chunk = 4096
        tail = b""
        keep = max((len(m) for m in self.seen), default=0)
        while not self._stop.is_set():
            try:
                data = sock.recv(chunk if not self._fast.is_set() else 1 << 20)
            except TimeoutError:
                continue
            except OSError:
                self.closed_by_editor = not self._stop.is_set()
                return
            if not data:
                self.closed_by_editor = not self._stop.is_set()
                return
            self.received += len(data)
            window = tail + data
            for m in self.seen:
                if not self.seen[m] and m.encode() in window:
                    self.seen[m] = True
            tail = window[-keep:] if keep else b""
            if not self._fast.is_set():
                self._fast.wait(len(data) / self.rate)  # pacing: the slow reader's rate

    def fast(self) -> None:
        self._fast.set()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._ws is not None:
            try:
                self._ws.close(timeout=1)
            except Exception:
                pass

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
