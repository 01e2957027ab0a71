"""Stub upstreams standing in for Node-RED instances behind the router.

Each stub answers every request with JSON naming itself (`id`) and echoing
method, path and headers, records what it saw, can be told to answer with
another status or to close the connection without an answer (what the
launcher does for the router while it is not serving), and can be stopped so
that connecting to it is refused.
GET with websocket upgrade headers gets a 101 and an echo websocket. Used by the router tests and
bench/dead_worker_cost.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body_length: int
    client: tuple[str, int]
    status: int  # 0: closed without an answer


@dataclass
class StubUpstream:
    name: str
    status: int = 200
    # True: read the request, then close the connection without an answer.
    close_without_answer: bool = False
    seen: list[Seen] = field(default_factory=list)
    port: int = 0  # 0: a free one

    def __post_init__(self):
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        # Short poll interval: stop() waits for it.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name=f"stub-{self.name}", daemon=True
        )
        self._thread.start()
        self.running = True

    def stop(self) -> None:
        """Close the listener and every open connection: later connects are refused."""
        if not self.running:
            return
        self.running = False
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        self._thread.join(5)

    def requests_for(self, method: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if method is None or s.method == method]

    def connections(self) -> set[tuple[str, int]]:
        """Distinct client connections (nginx side) that carried requests."""
        with self._lock:
            return {s.client for s in self.seen}


def _handler_for(stub: StubUpstream):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # persistent connections, as Node.js offers
        disable_nagle_algorithm = True  # as Node.js; headers and body go out as separate writes

        def setup(self):
            super().setup()
            with stub._lock:
                stub._open.add(self.connection)

        def finish(self):
            with stub._lock:
                stub._open.discard(self.connection)
            super().finish()

        def log_message(self, *args):
            pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            remaining = length
            while remaining:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            headers = {k.lower(): v for k, v in self.headers.items()}
            upgrade = headers.get("upgrade", "").lower() == "websocket"
            status = 101 if upgrade else 0 if stub.close_without_answer else stub.status
            with stub._lock:
                stub.seen.append(Seen(self.command, self.path, headers, length, self.client_address, status))
            if status == 0:
                self.close_connection = True
                return
            if upgrade:
                return self._websocket(headers)
            body = json.dumps(
                {
                    "id": stub.name,
                    "method": self.command,
                    "path": self.path,
                    "headers": headers,
                    "body_length": length,
                }
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

        def _websocket(self, headers):
            key = headers.get("sec-websocket-key")
            if "upgrade" not in headers.get("connection", "").lower() or not key:
                self.send_error(400, "websocket upgrade without Connection: upgrade or key")
                return
            accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            self.end_headers()
            self.close_connection = True
            # Echo text frames, prefixed with this stub's id, until a close frame.
            while True:
                frame = _read_frame(self.rfile)
                if frame is None or frame[0] == 0x8:
                    self.wfile.write(b"\x88\x00")
                    return
                if frame[0] == 0x1:
                    self.wfile.write(_text_frame(f"{stub.name}:{frame[1].decode()}"))

    return Handler


def _read_frame(rfile):
    head = rfile.read(2)
    if len(head) < 2:
        return None
    opcode, masked, n = head[0] & 0x0F, head[1] & 0x80, head[1] & 0x7F
    if n == 126:
        (n,) = struct.unpack(">H", rfile.read(2))
    elif n == 127:
        (n,) = struct.unpack(">Q", rfile.read(8))
    mask = rfile.read(4) if masked else b"\0\0\0\0"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(rfile.read(n)))
    return opcode, payload


def _text_frame(text: str) -> bytes:
    data = text.encode()
    if len(data) < 126:
        return bytes([0x81, len(data)]) + data
    return bytes([0x81, 126]) + struct.pack(">H", len(data)) + data
