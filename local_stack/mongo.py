"""The MongoDB wire-protocol server: SecantusDB started on a loopback port, or the server MONGO_TEST_URL names.

SecantusDB advertises itself as a one-member replica set primary, so change streams work; drivers
connect to it directly (directConnection=true) so the address it advertises does not matter.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from .ports import PortInUse, free_port, listeners, owned_listeners, sockets_of, wait_released
from .procs import tree

ROOT = Path(__file__).resolve().parents[1]


def secantusd_path() -> str:
    """The SecantusDB server binary: $SECANTUSD, the project's venv, else PATH. Fails clearly when absent."""
    candidates = [
        os.environ.get("SECANTUSD"),
        str(Path(sys.executable).parent / "secantusd-py"),
        str(ROOT / "venv" / "bin" / "secantusd-py"),
        shutil.which("secantusd-py"),
    ]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    raise RuntimeError("secantusd-py not found (set SECANTUSD, or install requirements-dev.txt into venv/)")


class MongoServer:
    """SecantusDB on 127.0.0.1:<port> (default: a free one) with its own storage dir; or the server
    named by MONGO_TEST_URL.

    .url is a connection string for pymongo and the Node driver. .restart() keeps port and data
    (for outage tests) and is impossible on an external server: it raises rather than skip.
    start() raises PortInUse when another process listens on the port.
    """

    def __init__(
        self,
        storage_dir: str | os.PathLike | None = None,
        log_path: str | os.PathLike | None = None,
        extra_args: list[str] | None = None,
        use_test_url: bool = True,
        port: int | None = None,
    ):
        self.extra_args = list(extra_args or [])  # e.g. ["--oplog-max-entries", "5"]
        # use_test_url=False: always a SecantusDB of our own (tests that stop and restart the server).
        self.external_url = (os.environ.get("MONGO_TEST_URL") or None) if use_test_url else None
        self._tmp = None
        if storage_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="secantus-")
            storage_dir = self._tmp
        self.storage_dir = Path(storage_dir)
        self.log_path = Path(log_path) if log_path else self.storage_dir.parent / f"{self.storage_dir.name}.log"
        self.port = None if self.external_url else (port or free_port())
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        if self.external_url:
            return self.external_url
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    @property
    def restartable(self) -> bool:
        return self.external_url is None

    def _own_port(self) -> int:
        """The port of the SecantusDB this object runs (an external server has none of ours)."""
        if self.port is None:
            raise RuntimeError("MONGO_TEST_URL names an external server: there is no server of ours")
        return self.port

    def start(self, timeout: float = 30.0) -> MongoServer:
        if self.proc is not None and self.proc.poll() is None:
            # A second server on the same port and data would fail and leave this one without an owner.
            raise RuntimeError(f"SecantusDB on port {self.port} is already running (pid {self.proc.pid})")
        if self.external_url:
            self._wait_answers(timeout)
            return self
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                secantusd_path(),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--storage-path",
                str(self.storage_dir),
                "--log-level",
                "WARNING",
                *self.extra_args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_answers(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_answers(self, timeout: float) -> None:
        import pymongo

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                if listeners(self._own_port()):
                    raise PortInUse(self._own_port(), "SecantusDB")
                raise RuntimeError(
                    f"secantusd-py exited with {self.proc.returncode}; log: {self.log_path}\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            try:
                client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
                    self.url, serverSelectionTimeoutMS=500
                )
                with client:
                    client.admin.command("ping")
            except Exception as e:  # not up yet
                last = e
                time.sleep(0.1)
                continue
            if self.proc is None:
                return
            # Whoever answered must be our own server, not another one on this port.
            owned = owned_listeners(self._own_port(), tree(self.proc.pid))
            if owned is None:
                raise PortInUse(self._own_port(), "SecantusDB")
            if owned:
                return
            time.sleep(0.1)
        raise RuntimeError(f"MongoDB at {self.url} did not answer within {timeout}s: {last}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None:
            return
        ours = listeners(self._own_port()) & sockets_of(tree(self.proc.pid))
        if self.proc.poll() is None:
            self.resume()  # a paused server would not act on SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        wait_released(ours)

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop and start again on the same port with the same data (an outage of down_seconds)."""
        if not self.restartable:
            raise RuntimeError(
                "MONGO_TEST_URL names an external server: this test needs to restart the "
                "database and cannot run against it"
            )
        self.stop()
        if down_seconds:
            time.sleep(down_seconds)
        self.start()

    def pause(self) -> None:
        """SIGSTOP the server (a database that stops answering: a stalled VM, a long failover): connections
        stay open and requests wait, unanswered, until resume()."""
        for pid in tree(self._started().pid):
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in tree(self._started().pid):
            os.kill(pid, signal.SIGCONT)

    def _started(self) -> subprocess.Popen[bytes]:
        if self.proc is None:
            raise RuntimeError(
                "no SecantusDB of ours is running (MONGO_TEST_URL names an external server, or it is stopped)"
            )
        return self.proc

    def client(self, **kw):
        import pymongo

        return pymongo.MongoClient(self.url, **kw)

    def close(self) -> None:
        self.stop()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> MongoServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
