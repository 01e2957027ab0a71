"""One editor and N workers on one database, as the benchmarks start them: every instance ready and the
editor logged in on entering; every instance started is stopped on leaving, also when starting failed."""

from __future__ import annotations

import uuid
from pathlib import Path

from local_stack import AdminClient, NodeRedInstance

PASSWORD = "bench-editor-password"


class BenchStack:
    def __init__(self, tmp: Path, mongo_url: str, workers: int, prefix: str = "bench"):
        self.db = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.editor = NodeRedInstance(
            "editor", mongo_url, self.db, editor_password=PASSWORD, user_dir=tmp / f"editor-{self.db}"
        )
        self.workers = [
            NodeRedInstance("worker", mongo_url, self.db, user_dir=tmp / f"worker{i}-{self.db}") for i in range(workers)
        ]
        self._started: list[NodeRedInstance] = []
        self._admin: AdminClient | None = None

    @property
    def admin(self) -> AdminClient:
        assert self._admin is not None, "enter the stack first"
        return self._admin

    def __enter__(self) -> BenchStack:
        try:
            for inst in [self.editor, *self.workers]:
                self._started.append(inst.start())
            for inst in self._started:
                inst.wait_ready(timeout=120)
            self._admin = AdminClient(self.editor.url, self.editor.editor_user, PASSWORD)
            self._admin.login()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()

    def __exit__(self, *exc) -> None:
        self.stop()
