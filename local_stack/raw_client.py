"""HTTP as an attacker or an unlucky client writes it: raw bytes on a socket, from a loopback address of
the caller's choosing (all of 127.0.0.0/8 reaches a server on 127.0.0.1, and nginx sees each source
address as another client), every read bounded by a deadline. Used by tests/hostile and
bench/hostile_mix.py."""

from __future__ import annotations

import json
import selectors
import socket
import time
from dataclasses import dataclass, field

import websocket


@dataclass
class Reply:
    status: int | None  # None: the connection closed (or timed out) without an answer
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed: float = 0.0
    error: str | None = None

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


def connect(port: int, source: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:port from `source`."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request_bytes(
    method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"", host: str = "127.0.0.1"
) -> bytes:
    """An HTTP/1.1 request sent exactly as given: the path raw (no normalising, no encoding)."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    given = {k.lower() for k in (headers or {})}
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body and "content-length" not in given and "transfer-encoding" not in given:
        lines.append(f"Content-Length: {len(body)}")
    if "connection" not in given:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_reply(s: socket.socket, timeout: float = 10.0) -> Reply:
    """One response off the socket: headers, then Content-Length bytes (or until close)."""
    start = time.monotonic()
    deadline = start + timeout
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                return Reply(None, elapsed=time.monotonic() - start, error="closed without an answer")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode(errors="replace").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(status_line.split()[1])
        length = headers.get("content-length")
        while length is None or len(body) < int(length):
            if status in (101, 204, 304):
                break
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return Reply(status, headers, body, time.monotonic() - start)
    except TimeoutError:
        return Reply(None, elapsed=time.monotonic() - start, error="timed out")
    except OSError as e:
        return Reply(None, elapsed=time.monotonic() - start, error=f"{type(e).__name__}: {e}")


def send(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    source: str = "127.0.0.1",
    timeout: float = 10.0,
) -> Reply:
    """One request on a new connection, exactly as given; the reply or why there was none."""
    start = time.monotonic()
    try:
        with connect(port, source, timeout) as s:
            s.sendall(request_bytes(method, path, headers, body))
            reply = read_reply(s, timeout)
    except OSError as e:
        return Reply(None, elapsed=time.monotonic() - start, error=f"{type(e).__name__}: {e}")
    reply.elapsed = time.monotonic() - start
    return reply


def send_chunked(
    port: int, path: str, body: bytes, source: str = "127.0.0.1", timeout: float = 20.0, chunk: int = 1 << 20
) -> Reply:
    """POST with a chunked body (no Content-Length), stopping early if an answer comes first."""
    headers = {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
    start = time.monotonic()
    try:
        with connect(port, source, timeout) as s:
            s.sendall(request_bytes("POST", path, headers))
            try:
                for i in range(0, len(body), chunk):
                    part = body[i : i + chunk]
                    s.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                s.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server answered and closed before the whole body went out
            reply = read_reply(s, timeout)
    except OSError as e:
        return Reply(None, elapsed=time.monotonic() - start, error=f"{type(e).__name__}: {e}")
    reply.elapsed = time.monotonic() - start
    return reply


def open_slow_body(
    port: int, path: str, source: str = "127.0.0.1", length: int = 100_000, timeout: float = 10.0
) -> socket.socket:
    """A POST announcing a `length`-byte body and sending only its first byte: it stays a request in
    flight (nginx buffers the body before passing it on) for as long as the caller keeps sending a byte
    now and then (trickle). How one address tried to hold all of the router's connections."""
    s = connect(port, source, timeout)
    try:
        s.sendall(
            request_bytes("POST", path, {"Content-Type": "application/octet-stream", "Content-Length": str(length)})
        )
        s.sendall(b"x")
    except BaseException:
        s.close()
        raise
    return s


def trickle(socks: list[socket.socket]) -> list[socket.socket]:
    """One more body byte on each socket; returns those the server has not closed (never blocks)."""
    alive = []
    for s in socks:
        if closed_by_peer(s):
            continue
        try:
            s.send(b"x")
            alive.append(s)
        except OSError:
            pass
    return alive


def answered(socks: list[socket.socket], timeout: float = 0.0) -> list[socket.socket]:
    """The sockets the server has written to (an answer, or a close) within `timeout` s."""
    if not socks:
        return []
    with selectors.DefaultSelector() as sel:
        for s in socks:
            sel.register(s, selectors.EVENT_READ)
        return [key.fileobj for key, _ in sel.select(timeout)]  # type: ignore[misc]


WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def websocket_upgrade_headers() -> dict[str, str]:
    return {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": WS_KEY,
    }


def open_websocket(port: int, path: str, source: str = "127.0.0.1", timeout: float = 10.0) -> websocket.WebSocket:
    """A websocket (websocket-client) on a connection from `source`; raises when not upgraded."""
    sock = connect(port, source, timeout)
    try:
        return websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=timeout, socket=sock)
    except BaseException:
        sock.close()
        raise


def closed_by_peer(sock: socket.socket) -> bool:
    """True once the other side closed the connection (EOF or reset); never blocks."""
    try:
        sock.setblocking(False)
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
