"""Headless Chromium (Debian's package) driven over the DevTools protocol with websocket-client.

No browser download and no extra driver package: Chromium is started with a fresh profile and a
remote-debugging port on loopback, and this module speaks the protocol to one page.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests
import websocket

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-default-browser-check",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1400,900",
]


def chromium_path() -> str | None:
    for c in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    return None


class Browser:
    """One Chromium process with one page. Events are kept in .events for later inspection."""

    def __init__(self, executable: str, timeout: float = 30.0):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.log_path = Path(self.profile + ".log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        port = self._debug_port(timeout)
        page = self._page_target(port, timeout)
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True, enable_multithread=True
        )
        self.events: list[dict] = []
        self._results: dict[int, dict] = {}
        self._cv = threading.Condition()
        self._next_id = 0
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _debug_port(self, timeout: float) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                return int(marker.read_text().split()[0])
            except (FileNotFoundError, IndexError, ValueError):
                time.sleep(0.1)
        raise RuntimeError(f"chromium opened no debugging port within {timeout}s: {self.log_tail()}")

    @staticmethod
    def _page_target(port: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                return pages[0]
            time.sleep(0.1)
        raise RuntimeError("chromium has no page target")

    def _read(self) -> None:
        while not self._closed:
            try:
                msg = json.loads(self.ws.recv())
            except Exception:
                break
            with self._cv:
                if "id" in msg:
                    self._results[msg["id"]] = msg
                else:
                    msg["at"] = time.monotonic()
                    self.events.append(msg)
                self._cv.notify_all()
        with self._cv:
            self._closed = True
            self._cv.notify_all()

    def send(self, method: str, timeout: float = 30.0, **params) -> dict:
        with self._cv:
            self._next_id += 1
            mid = self._next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        with self._cv:
            while mid not in self._results:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise TimeoutError(f"no answer to {method} within {timeout}s")
                self._cv.wait(left)
            msg = self._results.pop(mid)
        if "error" in msg:
            raise RuntimeError(f"{method} failed: {msg['error']}")
        return msg.get("result", {})

    def wait_event(self, method: str, timeout: float = 30.0, since: int = 0, pred=None) -> dict:
        """The first event named `method` at index >= since (matching pred), waiting for it if need be."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for e in self.events[since:]:
                    if e["method"] == method and (pred is None or pred(e["params"])):
                        return e
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise TimeoutError(f"no {method} event within {timeout}s")
                self._cv.wait(left)

    def events_named(self, method: str) -> list[dict]:
        with self._cv:
            return [e for e in self.events if e["method"] == method]

    def navigate(self, url: str, timeout: float = 60.0) -> None:
        mark = len(self.events)
        self.send("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", timeout=timeout, since=mark)

    def eval(self, expression: str, timeout: float = 30.0):
        r = self.send("Runtime.evaluate", timeout=timeout, expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 60.0, interval: float = 0.2):
        """Poll a page expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.eval(expression)
            if last:
                return last
            time.sleep(interval)
        raise TimeoutError(f"page never satisfied {expression!r} within {timeout}s (last: {last!r})")

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the element, as a user's would be."""
        box = self.wait_for(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " const r = e.getBoundingClientRect(); if (!r.width || !r.height) return null;"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()"
        )
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box["x"],
                y=box["y"],
                button="left",
                clickCount=0 if kind == "mouseMoved" else 1,
            )

    def type_into(self, selector: str, text: str) -> None:
        """Focus the field by clicking it, then type the text as keyboard input."""
        self.click(selector)
        self.send("Input.insertText", text=text)

    def screenshot(self, path: str | os.PathLike) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(base64.b64decode(data))
        return p

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return ""

    def close(self) -> None:
        self._closed = True
        try:
            self.ws.close()
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(5)
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
