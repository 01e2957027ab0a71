"""The router: nginx running the config nginx/render.py renders, the same renderer the Pulumi program
uses, handed local worker and editor addresses. No config of its own. A new worker set reaches the
running nginx the way it reaches the docker target's router container: install-config.sh delivers the
config, reload-on-change.sh beside nginx reloads it (both in nginx/)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import IO

from nginx.delivery import INSTALLER, WATCHER
from nginx.render import HEALTH_PATH, STATUS_PATH, render
from nodered_contract import BODY_LIMIT_MB, DEFAULT_HTTP_NODE_ROOT

from .nginx_process import NginxProcess
from .ports import free_port


class LocalRouter(NginxProcess):
    """nginx on 127.0.0.1:<port> routing <http_node_root> to `workers` and the rest to `editor`.

    workers/editor are "host:port" strings; bad ones raise ValueError here. body_limit_mb: the one body
    limit (give the instances the same). rate_limit: (per second, burst) per client address on the
    flows' paths (stack config http.rateLimit). .url is the router's base URL, .api_url the base of the flows'
    endpoints. update(workers) delivers the config for a new worker set, as a scale-up or scale-down
    does. Lifecycle, readiness and logs: NginxProcess; start() also starts the config watcher
    (reload-on-change.sh), stop() stops it.
    """

    ready_path = HEALTH_PATH  # answered by nginx itself, never proxied
    what = "the router (nginx)"

    def __init__(
        self,
        workers: Sequence[str],
        editor: str,
        http_node_root: str = DEFAULT_HTTP_NODE_ROOT,
        port: int | None = None,
        runtime_dir: str | os.PathLike | None = None,
        nginx_bin: str | None = None,
        body_limit_mb: int = BODY_LIMIT_MB,
        status_port: int | None = None,
        rate_limit: tuple[int, int] | None = None,
    ):
        super().__init__(port=port, runtime_dir=runtime_dir, nginx_bin=nginx_bin)
        self.status_port = status_port or free_port()  # the router's own counters (STATUS_PATH)
        self.workers = list(workers)
        self.editor = editor
        self.http_node_root = http_node_root
        self.body_limit_mb = body_limit_mb
        self.rate_limit = rate_limit  # (per second, burst) per client address on the flows' paths
        self.watcher: subprocess.Popen[bytes] | None = None
        self.watcher_log_path = self.runtime_dir / "reload-on-change.log"
        self._watcher_log: IO[bytes] | None = None
        self.staged_path = self.runtime_dir / "nginx.conf.staged"
        self.applied_path = self.runtime_dir / "applied"
        try:
            self.config()
        except BaseException:
            self.close()
            raise

    def config(self) -> str:
        # With a runtime_dir the renderer listens on 127.0.0.1 only.
        return render(
            self.workers,
            self.editor,
            http_node_root=self.http_node_root,
            listen_port=self.port,
            runtime_dir=str(self.runtime_dir),
            body_limit_mb=self.body_limit_mb,
            status_port=self.status_port,
            rate_limit=self.rate_limit,
        )

    @property
    def status_url(self) -> str:
        """The router's own counters (nginx stub_status), on their internal port."""
        return f"http://127.0.0.1:{self.status_port}{STATUS_PATH}"

    @property
    def api_url(self) -> str:
        return self.url + self.http_node_root

    def _nginx_command(self) -> list[str]:
        """nginx with this router's prefix and early error log; the scripts add -t/-c themselves."""
        return [self.nginx_bin, "-p", str(self.runtime_dir), "-e", str(self.error_log_path)]

    def start(self, timeout: float = 15.0):
        super().start(timeout)
        try:
            self._start_watcher(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_watcher(self, timeout: float) -> None:
        self.applied_path.unlink(missing_ok=True)
        self._watcher_log = open(self.watcher_log_path, "ab")
        self.watcher = subprocess.Popen(
            ["sh", str(WATCHER), str(self.runtime_dir), str(self.runtime_dir / "nginx.pid"), *self._nginx_command()],
            stdout=self._watcher_log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.applied_path.exists():  # it reports the config nginx started with
            if self.watcher.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the router's config watcher did not start:\n{self.watcher_log()}")
            time.sleep(0.02)

    def watcher_log(self) -> str:
        return self.watcher_log_path.read_text(errors="replace") if self.watcher_log_path.exists() else ""

    def update(self, workers: Sequence[str], timeout: float = 60.0) -> None:
        """Deliver the config for a new worker set (install-config.sh: nginx -t, install, wait) and return
        once the running nginx serves it: no new request reaches a worker left out."""
        if not self.running() or self.watcher is None or self.watcher.poll() is not None:
            raise RuntimeError(f"{self.what} or its config watcher is not running")
        self.workers = list(workers)
        self.staged_path.write_text(self.config())
        p = subprocess.run(
            ["sh", str(INSTALLER), str(self.staged_path), str(self.runtime_dir), *self._nginx_command()],
            capture_output=True,
            text=True,
            env={**os.environ, "ROUTER_CONFIG_TIMEOUT_SECONDS": str(int(timeout))},
            timeout=timeout + 15,
        )
        if p.returncode != 0:
            raise RuntimeError(f"the new router config was not applied:\n{p.stdout}{p.stderr}\n{self.watcher_log()}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.watcher is not None:
            try:
                os.killpg(self.watcher.pid, signal.SIGTERM)  # its own group: the script and its sleep
            except ProcessLookupError:
                pass
            self.watcher.wait(5)
            self.watcher = None
        if self._watcher_log:
            self._watcher_log.close()
            self._watcher_log = None
        super().stop(timeout)
