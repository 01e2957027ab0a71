"""nginx as the router, running the config that nginx/render.py renders for the deployed stack.

The tests get no config of their own: the same renderer the Pulumi program uses is handed the
local worker and editor addresses, and nginx runs it in the foreground from a private prefix.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence

from nginx.render import render
from tests.nginx.nginx_process import find_nginx

from .ports import free_port, wait_port_closed


def nginx_path() -> str:
    """The nginx binary ($NGINX, PATH, or Debian's /usr/sbin/nginx); fails clearly when absent."""
    found = find_nginx()
    if found is None:
        raise RuntimeError("nginx not found: install Debian's nginx package (apt-get install -y nginx)")
    return found


class Router:
    """nginx on 127.0.0.1:<port> routing <http_node_root> to `workers` and the rest to `editor`.

    workers/editor are "host:port" strings. .url is the router's base URL.
    .update(workers) re-renders and reloads, as a scale-up or scale-down does.
    """

    def __init__(self, workers: Sequence[str], editor: str, http_node_root: str = "/red-nodes",
                 port: int | None = None, runtime_dir: str | os.PathLike | None = None):
        self.workers = list(workers)
        self.editor = editor
        self.http_node_root = http_node_root
        self.port = port or free_port()
        self._tmp = None
        if runtime_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="router-")
            runtime_dir = self._tmp
        self.runtime_dir = Path(runtime_dir)
        self.conf_path = self.runtime_dir / "nginx.conf"
        self.error_log = self.runtime_dir / "error.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + self.http_node_root

    def _write_config(self) -> None:
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        text = render(self.workers, self.editor, http_node_root=self.http_node_root,
                      listen_port=self.port, runtime_dir=str(self.runtime_dir))
        # With a runtime_dir the renderer listens on 127.0.0.1 only.
        self.conf_path.write_text(text)

    def _cmd(self, *extra: str) -> list[str]:
        cmd = [nginx_path(), "-p", str(self.runtime_dir), "-e", str(self.error_log), "-c", str(self.conf_path)]
        if "daemon " not in self.conf_path.read_text():
            cmd += ["-g", "daemon off;"]
        return cmd + list(extra)

    def check(self) -> str:
        """`nginx -t` on the rendered config; returns its output, raises when nginx rejects it."""
        self._write_config()
        p = subprocess.run(self._cmd("-t"), capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError(f"nginx -t rejected the rendered config:\n{p.stderr}\n{self.conf_path.read_text()}")
        return p.stderr

    def start(self, timeout: float = 15.0) -> "Router":
        self.check()
        self.proc = subprocess.Popen(self._cmd(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.log_tail()}")
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {self.port} within {timeout}s:\n{self.log_tail()}")

    def update(self, workers: Sequence[str]) -> None:
        """Re-render for a new worker set and reload nginx gracefully (SIGHUP)."""
        self.workers = list(workers)
        self.check()
        assert self.proc is not None and self.proc.poll() is None, "router not running"
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)  # the master starts new workers; old ones finish their requests

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.error_log.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no error log)"

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown: the master stops its workers
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None
        wait_port_closed(self.port)

    def close(self) -> None:
        self.stop()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "Router":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
