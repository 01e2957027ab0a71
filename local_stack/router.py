"""The router: nginx running the config nginx/render.py renders, the same renderer the Pulumi program
uses, handed local worker and editor addresses. No config of its own."""

from __future__ import annotations

import os
from collections.abc import Sequence

from nginx.render import HEALTH_PATH, STATUS_PATH, render
from nodered_contract import BODY_LIMIT_MB

from .nginx_process import NginxProcess
from .ports import free_port


class Router(NginxProcess):
    """nginx on 127.0.0.1:<port> routing <http_node_root> to `workers` and the rest to `editor`.

    workers/editor are "host:port" strings; bad ones raise ValueError here. body_limit_mb: the one body
    limit (give the instances the same). .url is the router's base
    URL, .api_url the base of the flows' endpoints. update(workers) re-renders and reloads, as a
    scale-up or scale-down does. Lifecycle, readiness and logs: NginxProcess.
    """

    ready_path = HEALTH_PATH  # answered by nginx itself, never proxied
    what = "the router (nginx)"

    def __init__(
        self,
        workers: Sequence[str],
        editor: str,
        http_node_root: str = "/red-nodes",
        port: int | None = None,
        runtime_dir: str | os.PathLike | None = None,
        nginx_bin: str | None = None,
        body_limit_mb: int = BODY_LIMIT_MB,
        status_port: int | None = None,
    ):
        super().__init__(port=port, runtime_dir=runtime_dir, nginx_bin=nginx_bin)
        self.status_port = status_port or free_port()  # the router's own counters (STATUS_PATH)
        self.workers = list(workers)
        self.editor = editor
        self.http_node_root = http_node_root
        self.body_limit_mb = body_limit_mb
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
        )

    @property
    def status_url(self) -> str:
        """The router's own counters (nginx stub_status), on their internal port."""
        return f"http://127.0.0.1:{self.status_port}{STATUS_PATH}"

    @property
    def api_url(self) -> str:
        return self.url + self.http_node_root

    def update(self, workers: Sequence[str], timeout: float = 15.0) -> None:
        """Re-render for a new worker set and reload nginx gracefully."""
        self.workers = list(workers)
        self.reload(timeout)
