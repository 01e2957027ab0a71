"""nginx as a process of the local stack: the one way to start, reload, wait for and stop it.

nginx runs in the foreground as our child (`-g "daemon off;"`, its own process group) on a loopback
port, with its pid file, temp files and logs in a runtime dir of its own. What it serves is a
subclass's config() (router.py: the config nginx/render.py renders).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Self

import requests

from .ports import PortInUse, free_port, listeners, owned_listeners, sockets_of, wait_released
from .procs import descendants, title, tree

# Debian installs nginx in /usr/sbin, which is not on every user's PATH.
_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
_WORKER_TITLE = "nginx: worker process"  # an old worker after a reload: "... is shutting down"


def find_nginx() -> str | None:
    """Path of the nginx binary ($NGINX, PATH, or the usual sbin dirs), or None when it is not installed."""
    found = os.environ.get("NGINX") or shutil.which("nginx")
    if found:
        return found
    return next((c for c in _CANDIDATES if os.access(c, os.X_OK)), None)


def nginx_path() -> str:
    """The nginx binary; fails clearly when absent."""
    found = find_nginx()
    if found is None:
        raise FileNotFoundError("nginx not found: install Debian's nginx package (apt-get install -y nginx)")
    return found


def make_runtime_dir(prefix: str = "nginx-") -> str:
    """A runtime dir nginx's worker processes can reach (a dir under pytest's tmp_path may sit below a
    0700 parent)."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path


def _command(nginx_bin: str, runtime_dir: str | os.PathLike, *extra: str) -> list[str]:
    # -e: errors from before the config's own error_log is read land in the same file.
    return [
        nginx_bin,
        "-p",
        str(runtime_dir),
        "-e",
        str(Path(runtime_dir, "error.log")),
        "-c",
        str(Path(runtime_dir, "nginx.conf")),
        *extra,
    ]


def check_config(
    config: str, runtime_dir: str | os.PathLike, nginx_bin: str | None = None
) -> subprocess.CompletedProcess:
    """`nginx -t` on config text, written to <runtime_dir>/nginx.conf."""
    Path(runtime_dir, "nginx.conf").write_text(config)
    return subprocess.run(
        _command(nginx_bin or nginx_path(), runtime_dir, "-t"), capture_output=True, text=True, timeout=30
    )


class NginxProcess:
    """nginx on 127.0.0.1:<port> (default: a free one) serving config(), which subclasses provide.

    start() checks the config (`nginx -t`), starts nginx and waits until ready: nginx still running,
    no bind failure in its error log, the socket listening on the port is its own, and `ready_path`
    (a path nginx answers itself) answers 200. Another process on the port raises PortInUse, even
    one that answers the same (another stack's router). reload() re-checks and reloads gracefully
    (SIGHUP), and returns once new worker processes serve the new config. stop() is nginx's fast
    shutdown, then SIGKILL if it hangs. close() also removes a runtime dir it made itself.
    """

    ready_path = "/"
    what = "nginx"  # for error messages

    def __init__(
        self, port: int | None = None, runtime_dir: str | os.PathLike | None = None, nginx_bin: str | None = None
    ):
        self.nginx_bin = nginx_bin or nginx_path()
        self._own_dir = runtime_dir is None
        self.runtime_dir = Path(runtime_dir or make_runtime_dir())
        self.port = port or free_port()
        self.conf_path = self.runtime_dir / "nginx.conf"
        self.error_log_path = self.runtime_dir / "error.log"
        self.access_log_path = self.runtime_dir / "access.log"
        self.output_path = self.runtime_dir / "nginx.out"  # what nginx prints to stdout/stderr
        self.proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None
        self._listening: set[int] = set()
        self._log_offset = 0

    def config(self) -> str:
        """The nginx.conf text: listens on 127.0.0.1:self.port, keeps its files in self.runtime_dir."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------------

    def check(self) -> str:
        """Write config() and `nginx -t` it; returns nginx's output, raises when nginx rejects it."""
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        p = check_config(self.config(), self.runtime_dir, self.nginx_bin)
        if p.returncode != 0:
            raise RuntimeError(f"nginx -t rejected {self.conf_path}:\n{p.stderr}")
        return p.stderr

    def start(self, timeout: float = 15.0) -> Self:
        if self.running():
            raise RuntimeError(f"{self.what} on port {self.port} is already running")
        self.check()
        self._log_offset = self._error_log_size()
        self._listening = set()
        self._out = open(self.output_path, "ab")
        self.proc = subprocess.Popen(
            _command(self.nginx_bin, self.runtime_dir, "-g", "daemon off;"),
            stdout=self._out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Until this nginx answers on its port; PortInUse when another process holds the port."""
        deadline = time.monotonic() + timeout
        with requests.Session() as http:
            http.trust_env = False  # loopback only, never through a proxy from the environment
            while time.monotonic() < deadline:
                if self.proc is None:
                    raise RuntimeError(f"{self.what} is not started")
                if self.proc.poll() is not None:
                    if self._bind_failed() or listeners(self.port):
                        raise PortInUse(self.port, self.what)
                    raise RuntimeError(f"{self.what} exited with {self.proc.returncode}:\n{self.log_tail()}")
                if self._bind_failed():
                    raise PortInUse(self.port, self.what)
                owned = owned_listeners(self.port, tree(self.proc.pid))
                if owned is None:
                    raise PortInUse(self.port, self.what)
                if owned:
                    try:
                        if http.get(self.url + self.ready_path, timeout=1).status_code == 200:
                            self._listening = owned
                            return
                    except requests.RequestException:
                        pass
                time.sleep(0.02)
        raise RuntimeError(f"{self.what} did not answer on {self.url} within {timeout}s:\n{self.log_tail()}")

    def reload(self, timeout: float = 15.0) -> None:
        """Write and check config() again, then reload nginx gracefully (SIGHUP): new worker processes
        take new connections, old ones finish their requests. Returns once no old worker accepts any."""
        self.check()
        if self.proc is None or not self.running():
            raise RuntimeError(f"{self.what} is not running")
        offset = self._error_log_size()
        old = set(self._worker_pids())
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.what} exited during a reload:\n{self.log_tail()}")
            if "[emerg]" in self._error_log_since(offset):
                raise RuntimeError(f"{self.what} rejected the reloaded config:\n{self._error_log_since(offset)}")
            current = set(self._worker_pids())
            if current and not current & old:
                return
            time.sleep(0.02)
        raise RuntimeError(f"{self.what} did not reload within {timeout}s:\n{self.log_tail()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None:
            return
        ours = self._listening or (listeners(self.port) & sockets_of(tree(self.proc.pid)))
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown: the master stops its workers
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self._out:
            self._out.close()
            self._out = None
        self.proc = None
        self._listening = set()
        wait_released(ours)

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- what nginx says -------------------------------------------------------------------------

    def access_log(self, until: Callable[[list[dict]], bool] | None = None, timeout: float = 5.0) -> list[dict]:
        """Every access log line so far, parsed (the router's log format is one JSON object a line).

        nginx writes a request's line after its answer went out, so a client may read the answer
        first: until(entries) waits (up to timeout) for the lines a caller expects."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.access_log_path.read_text() if self.access_log_path.exists() else ""
            # A line being written has no newline yet.
            entries = [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]
            if until is None or until(entries):
                return entries
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{self.access_log_path}: the expected lines were not logged within "
                    f"{timeout}s ({len(entries)} lines)"
                )
            time.sleep(0.01)

    def error_log(self) -> str:
        return self.error_log_path.read_text(errors="replace") if self.error_log_path.exists() else ""

    def log_tail(self, chars: int = 4000) -> str:
        out = self.output_path.read_text(errors="replace") if self.output_path.exists() else ""
        return (self.error_log()[-chars:] or "(empty error log)") + (f"\n{out[-chars:]}" if out else "")

    def _error_log_size(self) -> int:
        return self.error_log_path.stat().st_size if self.error_log_path.exists() else 0

    def _error_log_since(self, offset: int) -> str:
        if not self.error_log_path.exists():
            return ""
        with open(self.error_log_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def _bind_failed(self) -> bool:
        text = self._error_log_since(self._log_offset)
        return f":{self.port} failed (98: Address already in use)" in text

    def _worker_pids(self) -> list[int]:
        """The master's worker processes that take new connections (not those shutting down)."""
        if self.proc is None:
            raise RuntimeError(f"{self.what} is not started")
        return [p for p in descendants(self.proc.pid) if title(p) == _WORKER_TITLE]
