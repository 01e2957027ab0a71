"""Run a real nginx on a config from nginx/render.py (tests, harness, benchmarks).

    with NginxProcess(workers=["127.0.0.1:5001"], editor="127.0.0.1:5000") as router:
        requests.get(router.url + "/red-nodes/hello")
        router.access_log()   # parsed JSON lines

nginx runs in the foreground as our child (`-g "daemon off;"`), on a free
loopback port, with its pid file, temp files and logs in its own runtime dir.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import requests

from nginx.render import HEALTH_PATH, render
from tests.harness.ports import free_port

# Debian installs nginx in /usr/sbin, which is not on every user's PATH.
_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")


def find_nginx() -> str | None:
    """Path of the nginx binary, or None when it is not installed."""
    found = os.environ.get("NGINX") or shutil.which("nginx")
    if found:
        return found
    return next((c for c in _CANDIDATES if os.access(c, os.X_OK)), None)


def make_runtime_dir(prefix: str = "nginx-") -> str:
    """A runtime dir nginx's worker processes can reach (a dir under pytest's
    tmp_path may sit below a 0700 parent)."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path


def check_config(config: str, runtime_dir: str, nginx_bin: str | None = None) -> subprocess.CompletedProcess:
    """`nginx -t` on config text, written to <runtime_dir>/nginx.conf."""
    nginx_bin = nginx_bin or find_nginx()
    if nginx_bin is None:
        raise FileNotFoundError("nginx is not installed")
    conf = Path(runtime_dir, "nginx.conf")
    conf.write_text(config)
    return subprocess.run(
        [nginx_bin, "-t", "-p", runtime_dir, "-c", str(conf)],
        capture_output=True, text=True, timeout=30,
    )


class NginxProcess:
    """A running nginx with a rendered router config; a context manager."""

    def __init__(
        self,
        workers: Sequence[str],
        editor: str,
        http_node_root: str = "/red-nodes",
        port: int | None = None,
        runtime_dir: str | None = None,
        nginx_bin: str | None = None,
    ):
        self.nginx_bin = nginx_bin or find_nginx()
        if self.nginx_bin is None:
            raise FileNotFoundError("nginx is not installed (apt-get install nginx)")
        self._own_dir = runtime_dir is None
        self.runtime_dir = runtime_dir or make_runtime_dir()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = render(workers, editor, http_node_root, self.port, self.runtime_dir)
        self.conf_path = Path(self.runtime_dir, "nginx.conf")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "NginxProcess":
        # Loopback only: never through a proxy from the environment.
        session = requests.Session()
        session.trust_env = False
        self.conf_path.write_text(self.config)
        self.proc = subprocess.Popen(
            [self.nginx_bin, "-p", self.runtime_dir, "-c", str(self.conf_path), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: {err}{self.error_log()}")
            try:
                if session.get(self.url + HEALTH_PATH, timeout=1).status_code == 200:
                    session.close()
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.02)
        session.close()
        self.stop()
        raise RuntimeError(f"nginx did not answer on {self.url} within {timeout}s: {self.error_log()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful quit (finishes open requests), then kill if it hangs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def access_log(self) -> list[dict]:
        """Every access log line so far, parsed (each line is one JSON object)."""
        path = Path(self.runtime_dir, "access.log")
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def error_log(self) -> str:
        path = Path(self.runtime_dir, "error.log")
        return path.read_text() if path.exists() else ""

    def __enter__(self) -> "NginxProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()
