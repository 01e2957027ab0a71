"""A real Node-RED instance started the way the image starts it: package.json's start script in nodered_image/
(`node --max-semi-space-size=2 server.js`), run with the Node.js of its Node-RED line (node_lines.py).

The instance runs the image's own settings.js, launcher and storage plugin; its role and everything
else come from its environment (docs/instances.md: "Every instance: environment"), built in NodeRedInstance.env().
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

import requests

import nodered_contract as contract

from .node_lines import NodeRedLine, line
from .ports import PortInUse, free_port, listeners, owned_listeners, sockets_of, wait_released
from .procs import tree

if TYPE_CHECKING:
    from .http_api import HttpApi

ROOT = Path(__file__).resolve().parents[1]
IMAGE_DIR = ROOT / "nodered_image"

DEFAULT_EDITOR_PASSWORD = "editor-test-password"
DEFAULT_CREDENTIAL_SECRET = "test-credential-secret-0123456789"


def check_installed(node_red: NodeRedLine | None = None) -> None:
    """Fail clearly when the Node-RED app's dependencies, or its line's Node.js or Node-RED, are not installed."""
    missing = [
        p for p in (IMAGE_DIR / "node_modules" / "node-red", IMAGE_DIR / "node_modules" / "mongodb") if not p.exists()
    ]
    if missing:
        raise RuntimeError(
            f"{IMAGE_DIR}/node_modules is missing or incomplete ({missing[0]}): "
            "run `make install`, or `cd nodered_image && npm ci`"
        )
    (node_red or line()).check()


def start_command(node_red: NodeRedLine) -> list[str]:
    """The image's start script (package.json), with that line's node binary."""
    script = shlex.split(json.loads((IMAGE_DIR / "package.json").read_text())["scripts"]["start"])
    if script[0] != "node":
        raise RuntimeError(f"nodered_image/package.json: the start script runs {script[0]}, not node")
    return [str(node_red.node), *script[1:]]


class NodeRedInstance:
    """One Node-RED process (editor or worker) on 127.0.0.1:<port> (default: a free one), logging to a file.

    wait_ready() raises PortInUse when another process listens on the port.
    """

    def __init__(
        self,
        role: str,
        mongo_url: str,
        db: str,
        http_node_root: str = contract.DEFAULT_HTTP_NODE_ROOT,
        editor_user: str = contract.EDITOR_USER,
        editor_password: str | None = DEFAULT_EDITOR_PASSWORD,
        credential_secret: str | None = DEFAULT_CREDENTIAL_SECRET,
        previous_credential_secret: str | None = None,
        port: int | None = None,
        user_dir: str | os.PathLike | None = None,
        extra_env: dict | None = None,
        log_path: str | os.PathLike | None = None,
        instance_id: str | None = None,
        body_limit_mb: int | None = None,
        trusted_proxies: list[str] | None = None,
        node_red: str | None = None,
        api: HttpApi | None = None,
    ):
        self.role = role
        # Which Node-RED and Node.js it runs (node_lines.py): "5", the image's, by default; "4.1".
        self.node_red = line(node_red)
        self.mongo_url = mongo_url
        self.db = db
        self.http_node_root = http_node_root
        self.editor_user = editor_user
        self.editor_password = editor_password
        self.credential_secret = credential_secret
        # During a rotation of the credential key: the key before (NODE_RED_PREVIOUS_CREDENTIAL_SECRET).
        self.previous_credential_secret = previous_credential_secret
        self.port = port or free_port()
        self._tmp = None
        if user_dir is None:
            self._tmp = tempfile.mkdtemp(prefix=f"nodered-{role}-")
            user_dir = self._tmp
        self.user_dir = Path(user_dir)
        self.log_path = Path(log_path) if log_path else self.user_dir / "nodered.log"
        self.instance_id = instance_id or f"{role}-{self.port}"
        self.extra_env = dict(extra_env or {})
        self.body_limit_mb = body_limit_mb
        self.trusted_proxies = trusted_proxies
        # The flows' endpoints as an API (http_api.py): auth, CORS, rate limit, OpenAPI, function modules.
        self.api = api
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._listening: set[int] = set()  # our listening socket, once seen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def node_url(self) -> str:
        """Base URL of the HTTP-in endpoints (httpNodeRoot) on this instance."""
        return self.url + self.http_node_root

    def env(self) -> dict:
        """The process environment: this machine's, minus any NODE_RED_*/MONGO_* of its own, plus the
        role's environment as the deploy targets build it (nodered_contract: the same variables per role,
        the same checks) and the role's secrets; extra_env comes last, unchecked, so a test can start an
        instance with values the contract refuses."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_RED_", "MONGO_"))}
        env.update(
            contract.environment(
                self.role,
                http_node_root=self.http_node_root,
                editor_user=self.editor_user,
                database=self.db,
                port=self.port,
                instance_id=self.instance_id,
                body_limit_mb=self.body_limit_mb,
                trusted_proxies=self.trusted_proxies,
                extra={
                    "NODE_RED_USER_DIR": str(self.user_dir),
                    "NODE_RED_LISTEN_HOST": "127.0.0.1",
                    **(self.api.plain() if self.api else {}),
                },
            )
        )
        secrets = contract.secret_values(
            mongo_url=self.mongo_url,
            credential_secret=self.credential_secret,
            editor_password=self.editor_password,
            previous_credential_secret=self.previous_credential_secret,
            **(self.api.secrets() if self.api else {}),
            require=False,
        )
        for name, value in contract.role_secrets(self.role, secrets).items():
            if value is not None:  # None: a test starts the instance without it
                env[name] = value
        env.update({k: str(v) for k, v in self.extra_env.items()})
        return self.node_red.env(env)

    def start(self) -> NodeRedInstance:
        check_installed(self.node_red)
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"{self.instance_id} is already running")
        self.user_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self._listening = set()
        # Own process group: stop/kill reach node and anything it started.
        self.proc = subprocess.Popen(
            start_command(self.node_red),
            cwd=IMAGE_DIR,
            env=self.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def _started(self) -> subprocess.Popen[bytes]:
        if self.proc is None:
            raise RuntimeError(f"{self.instance_id} is not started")
        return self.proc

    def _signal(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self._started().pid, sig)
        except ProcessLookupError:
            pass

    def _node_pids(self) -> list[int]:
        """The node process running server.js."""
        return [self._started().pid]

    def _our_listeners(self) -> set[int]:
        return listeners(self.port) & sockets_of(tree(self._started().pid))

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM to Node-RED (graceful shutdown, as `docker stop` does); SIGKILL if still running after
        timeout. Returns the node process's exit code."""
        if self.proc is None:
            return None
        ours = self._our_listeners()
        code = self.proc.poll()
        if code is None:
            targets = self._node_pids()
            for pid in targets:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            if not targets:
                self._signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                code = self.proc.wait(5)
        self._signal(signal.SIGKILL)  # anything left in the group
        self._close_log()
        wait_released(ours)
        self.proc = None
        return code

    def pause(self) -> None:
        """SIGSTOP Node-RED (a frozen process: long GC pause, VM stall); resume() continues it."""
        for pid in self._node_pids():
            os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        for pid in self._node_pids():
            os.kill(pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, no cleanup."""
        if self.proc is None:
            return
        ours = self._our_listeners()
        self._signal(signal.SIGKILL)
        self.proc.wait(10)
        self._close_log()
        wait_released(ours)
        self.proc = None

    def _close_log(self) -> None:
        if self._log:
            self._log.close()
            self._log = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float = 30.0) -> int:
        """For instances expected to refuse to start: the exit code."""
        code = self._started().wait(timeout)
        self._close_log()
        return code

    def healthz(self, timeout: float = 2.0) -> dict:
        """GET /healthz (the contract's readiness path) as a dict, with the HTTP status under "status_code"."""
        r = requests.get(self.url + contract.READINESS_PATH, timeout=timeout)
        body = r.json()
        body["status_code"] = r.status_code
        return body

    def _check_own_port(self) -> bool:
        """True once the listener on our port is this instance's; raises PortInUse when it is another
        process's (our node can never bind there, and must not pass for ready on its answers)."""
        if self._listening:
            return True
        owned = owned_listeners(self.port, tree(self._started().pid))
        if owned is None:
            self.stop()
            raise PortInUse(self.port, f"Node-RED {self.instance_id}")
        self._listening = owned
        return bool(owned)

    def wait_ready(self, rev: int | None = None, timeout: float = 60.0) -> dict:
        """Wait until /healthz says ready (200), and runs revision `rev` or newer when given."""
        deadline = time.monotonic() + timeout
        last: dict | str | None = None
        while time.monotonic() < deadline:
            if self.proc is None:
                raise RuntimeError(f"{self.instance_id} is not started")
            if self.proc.poll() is not None:
                if listeners(self.port):
                    self.stop()
                    raise PortInUse(self.port, f"Node-RED {self.instance_id}")
                raise RuntimeError(f"{self.instance_id} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                h = self.healthz()
                last = h
                if (
                    self._check_own_port()
                    and h["status_code"] == 200
                    and h.get("ready")
                    and (rev is None or (h.get("rev") or 0) >= rev)
                ):
                    return h
            except (requests.RequestException, ValueError) as e:
                last = repr(e)
            time.sleep(0.1)
        raise TimeoutError(
            f"{self.instance_id} not ready (rev {rev}) within {timeout}s; last /healthz: {last}\n{self.log_tail()}"
        )

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> NodeRedInstance:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
