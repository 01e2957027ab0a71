"""The whole system as local processes: MongoDB (SecantusDB or MONGO_TEST_URL), one editor, N workers,
and nginx running the config the program renders for those workers.

    with LocalStack(workers=3) as stack:
        rev = stack.deploy(flows)          # through the router, waits until every worker serves rev
        requests.get(stack.api_url + "/hello")   # the router's base of the flows' endpoints

A port it wants that another process holds (router_port, or one picked for an instance and taken
meanwhile) makes start() raise PortInUse naming the port, after stopping what it had started.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nodered_contract import BODY_LIMIT_MB, DEFAULT_HTTP_NODE_ROOT, EDITOR_USER

from . import node_lines
from .admin import AdminClient
from .http_api import HttpApi
from .mongo import MongoServer
from .nodered import DEFAULT_CREDENTIAL_SECRET, DEFAULT_EDITOR_PASSWORD, NodeRedInstance
from .ports import check_free
from .router import LocalRouter

# Where nginx's connections to the instances come from (it listens and connects on loopback).
ROUTER_SOURCE_ADDRESS = "127.0.0.1"


class LocalStack:
    """Start with .start() (or `with`); everything it started is stopped by .close().

    mongo: an already running MongoServer to share (its data stays); by default the stack starts
    its own. db: the database name (default: a fresh one). base_dir: where user dirs, logs and the
    router's runtime files go (default: a temp dir removed on close unless keep_dir). editor_env: variables
    of the editor's only (NODE_RED_EDITOR_USERS, ...), after extra_env. body_limit_mb:
    the one request body limit, for the router and the instances (stack config bodyLimitMb). node_red:
    the Node-RED line the instances run (node_lines.py: "5", the image's, by default; "4.1"). api: the
    flows' endpoints as an API (http_api.HttpApi: auth, CORS, rate limit, OpenAPI, function modules).
    """

    def __init__(
        self,
        workers: int = 3,
        http_node_root: str = DEFAULT_HTTP_NODE_ROOT,
        mongo: MongoServer | None = None,
        db: str | None = None,
        base_dir: str | os.PathLike | None = None,
        router_port: int | None = None,
        editor_user: str = EDITOR_USER,
        editor_password: str = DEFAULT_EDITOR_PASSWORD,
        credential_secret: str = DEFAULT_CREDENTIAL_SECRET,
        previous_credential_secret: str | None = None,
        extra_env: dict | None = None,
        editor_env: dict | None = None,
        keep_dir: bool = False,
        body_limit_mb: int = BODY_LIMIT_MB,
        node_red: str | None = None,
        api: HttpApi | None = None,
    ):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.n_workers = workers
        self.http_node_root = http_node_root
        self.db = db or f"stack_{uuid.uuid4().hex[:8]}"
        self.editor_user = editor_user
        self.editor_password = editor_password
        self.credential_secret = credential_secret
        self.previous_credential_secret = previous_credential_secret
        self.extra_env = dict(extra_env or {})
        # The editor's own variables besides (its users, single sign-on, API tokens: lib/access/).
        self.editor_env = dict(editor_env or {})
        self.body_limit_mb = body_limit_mb
        self.api = api
        self.node_red = node_lines.line(node_red).name
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="nodered-stack-"))
        self.keep_dir = keep_dir
        self._own_mongo = mongo is None
        self.mongo = mongo or MongoServer(
            storage_dir=self.base_dir / "mongo-data", log_path=self.base_dir / "secantusd.log"
        )
        self._router_port = router_port
        self.editor: NodeRedInstance | None = None
        self.workers: list[NodeRedInstance] = []
        self.router: LocalRouter | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def _instance(self, role: str, name: str) -> NodeRedInstance:
        return NodeRedInstance(
            role,
            self.mongo.url,
            self.db,
            http_node_root=self.http_node_root,
            editor_user=self.editor_user,
            editor_password=self.editor_password,
            credential_secret=self.credential_secret,
            previous_credential_secret=self.previous_credential_secret,
            user_dir=self.base_dir / name,
            log_path=self.base_dir / f"{name}.log",
            extra_env={**self.extra_env, **(self.editor_env if role == "editor" else {})},
            instance_id=name,
            body_limit_mb=self.body_limit_mb,
            # The router connects from 127.0.0.1: the instances take the client address from its
            # X-Forwarded-For (a client on another loopback address, 127.0.0.2 say, is told apart).
            trusted_proxies=[ROUTER_SOURCE_ADDRESS],
            node_red=self.node_red,
            api=self.api,
        )

    def start(self, timeout: float = 120.0) -> LocalStack:
        if self.editor is not None:  # `with LocalStack() as st` has started it already
            raise RuntimeError("this local stack is already started")
        try:
            if self._router_port:  # asked for: say at once when it is taken, not after starting everything
                check_free(self._router_port, "the router (nginx)")
            if self._own_mongo:
                self.mongo.start()
            self.editor = self._instance("editor", "editor").start()
            self.workers = [self._instance("worker", f"worker-{i + 1}").start() for i in range(self.n_workers)]
            instances = [self.editor, *self.workers]
            with ThreadPoolExecutor(len(instances)) as pool:
                list(pool.map(lambda i: i.wait_ready(timeout=timeout), instances))
            self.router = LocalRouter(
                self.worker_addresses,
                f"127.0.0.1:{self.editor.port}",
                http_node_root=self.http_node_root,
                port=self._router_port,
                runtime_dir=self.base_dir / "router",
                body_limit_mb=self.body_limit_mb,
                rate_limit=self.api.router_rate_limit() if self.api else None,
            ).start()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self.router:
            self.router.stop()
        for inst in [*self.workers, *([self.editor] if self.editor else [])]:
            inst.stop()
        if self._own_mongo:
            self.mongo.stop()
        if self._own_dir and not self.keep_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- what tests use --------------------------------------------------------------------------

    def _router(self) -> LocalRouter:
        if self.router is None:
            raise RuntimeError("the stack is not started")
        return self.router

    @property
    def url(self) -> str:
        """The router's base URL: the editor and its admin API (after start())."""
        return self._router().url

    @property
    def api_url(self) -> str:
        """The router's base URL of the flows' HTTP endpoints, httpNodeRoot included (after start())."""
        return self._router().api_url

    @property
    def worker_addresses(self) -> list[str]:
        return [f"127.0.0.1:{w.port}" for w in self.workers]

    def admin(self, login: bool = True) -> AdminClient:
        """An admin API client that goes through the router, as a user's tooling would."""
        client = AdminClient(self.url, self.editor_user, self.editor_password)
        if login:
            client.login()
        return client

    def wait_workers(self, rev: int, timeout: float = 60.0, workers=None) -> None:
        """Wait until every (running) worker's /healthz says ready on revision `rev` or newer."""
        targets = [w for w in (workers or self.workers) if w.running()]
        deadline = time.monotonic() + timeout
        for w in targets:
            w.wait_ready(rev=rev, timeout=max(0.1, deadline - time.monotonic()))

    def wait_recorded(self, rev: int, timeout: float = 15.0) -> None:
        """Wait until the status record of the editor and of every running worker says it runs `rev` (the
        records are written just after /healthz turns ready, off the reload's path), as the cluster API's
        status and history and the status command read them."""
        from nodered_contract import database as layout

        ids = [i.instance_id for i in [self.editor, *self.workers] if i is not None and i.running()]
        assert self.mongo is not None, "the stack is not started"
        client = self.mongo.client()
        try:
            coll = layout.collection(client[self.db], "instances")
            deadline = time.monotonic() + timeout
            while True:
                done = {d["_id"] for d in coll.find({"_id": {"$in": ids}, "rev": rev, "state": "running"}, {"_id": 1})}
                late = [i for i in ids if i not in done]
                if not late:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"status records not on revision {rev} after {timeout} s: {late}")
                time.sleep(0.05)
        finally:
            client.close()

    def deploy(self, flows: list, admin: AdminClient | None = None, timeout: float = 60.0) -> int:
        """Deploy through the router and wait until every running worker serves the new revision."""
        rev = (admin or self.admin()).deploy(flows)
        if rev is None:
            raise RuntimeError("the editor did not report the revision of the deploy")
        self.wait_workers(rev, timeout=timeout)
        return rev

    def insert_revision(self, flows: list, saved_by: str = "ops-script") -> int:
        """A revision written straight to the database, as an operator's script (or a restore) writes one
        and the editor would refuse (flows with node types the image lacks, say): numbered as a deploy is,
        every instance loads it or fails to. Its number; nothing is waited for."""
        from nodered_contract import database as layout
        from nodered_status.revisions import next_revision

        client = self.mongo.client(tz_aware=True)
        try:
            db = client[self.db]
            rev = next_revision(db)
            layout.collection(db, "flows").insert_one(
                {
                    "_id": rev,
                    "rev": rev,
                    "deployId": uuid.uuid4().hex,
                    "flowsJson": json.dumps(flows),
                    "credentials": None,
                    "savedAt": datetime.datetime.now(datetime.UTC),
                    "savedBy": saved_by,
                    "deployType": "full",
                }
            )
            return rev
        finally:
            client.close()

    def add_worker(self, timeout: float = 120.0) -> NodeRedInstance:
        """Scale up by one: start a worker, wait until it serves, then deliver the new config to the running
        router (LocalRouter.update), as the docker target does."""
        w = self._instance("worker", f"worker-{len(self.workers) + 1}").start()
        self.workers.append(w)
        w.wait_ready(timeout=timeout)
        self._router().update(self.worker_addresses)
        return w

    def replace(self, instances: list[NodeRedInstance], node_red: str, timeout: float = 120.0) -> None:
        """Stops these instances and starts them again on another Node-RED line, with the same names, ports,
        user dirs and database, as `pulumi up` after a change of image.nodeRedVersion replaces containers
        (the docker target all at once; the aws target's rolling update a few at a time). The router keeps
        running: its config lists the same addresses."""
        chosen = node_lines.line(node_red)
        for inst in instances:
            inst.stop()
        for inst in instances:
            inst.node_red = chosen
            inst.start()
        for inst in instances:
            inst.wait_ready(timeout=timeout)
        if instances == [*self.workers, self.editor]:
            self.node_red = chosen.name

    def roll(
        self,
        instances: list[NodeRedInstance],
        credential_secret: str,
        previous_credential_secret: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        """Restarts these instances one at a time with other credential keys, as ECS rolls a service onto a new
        task definition (docs/operations.md, "Rotate the credential key"): a worker leaves the running router's
        config first (the ALB deregisters a task before stopping it), is stopped, starts again with the same name,
        port, user dir and database, and is routed to again once ready; the editor is stopped, then started (never
        two editors). Instances started later (add_worker) get the same keys."""
        self.credential_secret = credential_secret
        self.previous_credential_secret = previous_credential_secret
        for inst in instances:
            worker = inst in self.workers
            if worker:
                self._router().update([f"127.0.0.1:{w.port}" for w in self.workers if w is not inst])
            inst.stop()
            inst.credential_secret = credential_secret
            inst.previous_credential_secret = previous_credential_secret
            inst.start()
            inst.wait_ready(timeout=timeout)
            if worker:
                self._router().update(self.worker_addresses)

    def remove_worker(self, worker: NodeRedInstance | None = None) -> NodeRedInstance:
        """Scale down by one: take the worker out of the running router's config first (LocalRouter.update
        returns once nginx serves it), then stop it, as the docker target does."""
        worker = worker or self.workers[-1]
        self.workers.remove(worker)
        self._router().update(self.worker_addresses)
        worker.stop()
        return worker

    def describe(self) -> str:
        router, editor = self._router(), self.editor
        if editor is None:
            raise RuntimeError("the stack is not started")
        lines = [
            f"router        {router.url}  (nginx config: {router.conf_path})",
            f"  flows API   {router.api_url}/...",
            f"  editor UI   {router.url}/  (user {self.editor_user!r}, password {self.editor_password!r})",
            f"  counters    {router.status_url}  (nginx stub_status; every instance: <its url>/metrics)",
            f"editor        {editor.url}",
            *[f"{w.instance_id:<13} {w.url}" for w in self.workers],
            f"mongodb       {self.mongo.url}  db {self.db!r}",
            f"status        venv/bin/python -m nodered_status --mongo-url '{self.mongo.url}' --db {self.db}",
            f"logs          {self.base_dir}",
        ]
        return "\n".join(lines)
