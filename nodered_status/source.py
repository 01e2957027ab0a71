"""Where the status command reads a deployment's state and writes a rollback: its MongoDB, through the
collections and documents nodered_image/database.json declares (nodered_contract.database).

Every command gets one source from the dispatcher (cli.py) and talks to the deployment only through it;
a source raises Unreachable (exit code 3, one message format) for anything the deployment did not
answer. The other kind of source, the editor's cluster API over HTTPS (http_source.py), offers the same
methods and answers the same data: what MongoSource computes here with listing.py's rules, the editor
computes with the same rules (both run nodered_image/test/cluster_rules.json).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from nodered_contract import database as layout

from . import exits, listing
from .clock import iso, parse_since, utc
from .revisions import describe_id, document_problem, newest_revision, next_revision

T = TypeVar("T")


def redact(url: str) -> str:
    """The URL without its password, for error messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


class Unreachable(exits.CommandError):
    """The deployment could not be read or written: `action` ("read status from", "write to"), where, why."""

    def __init__(self, action: str, service: str, address: str, exc: BaseException | str):
        """exc: what the driver or HTTP client raised, or in words what came back instead of an answer."""
        self.action, self.service, self.address = action, service, address
        if isinstance(exc, str):
            self.cause = exc[:300]
        else:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            first = re.split(r" \(configured timeouts|, Timeout: ", first)[0]
            self.cause = f"{type(exc).__name__}: {first[:300]}"
        super().__init__(f"cannot {action} {service} at {address}: {self.cause}", exits.UNREACHABLE)

    @property
    def short(self) -> str:
        """Without the address (a view that shows it in its header already)."""
        return f"cannot {self.action} {self.service}: {self.cause}"


@dataclass
class Snapshot:
    """What the status report and its --watch view read at once."""

    instances: list[dict]  # the instance records
    newest: dict | None  # the newest revision, without its flows and credentials
    lease: dict | None  # the leader lease, if the stack has one
    now: dt.datetime  # the database server's clock: records' ages are measured against it


@dataclass
class RolledBack:
    rev: int  # the new revision
    saved_by: str  # who it is saved by: the operator's name, or the editor's logged-in user


class Source(Protocol):
    """What the commands need of a deployment: its MongoDB (MongoSource) or its editor (HttpSource)."""

    def snapshot(self, action: str = ...) -> Snapshot: ...

    def history(self, limit: int, stale_after: float) -> dict:
        """The kept revisions as listing.build gives them (the editor's GET /cluster/revisions)."""
        ...

    def diff(self, a: int, b: int) -> dict:
        """What changed from revision a to b, listing.compare's data; NoSuchRevision if one is missing."""
        ...

    def rollback(self, rev: int, by: str) -> RolledBack:
        """A new revision with rev's flows and credentials; NoSuchRevision if rev is not kept or malformed."""
        ...

    def workers(self) -> tuple[list[dict], dt.datetime]: ...

    # Flows from files (export, deploy, diff --dir): through the editor only, which reads the stored
    # credentials with the stack's credential secret and checks a deploy as its own.
    def revision(self, rev: int) -> dict: ...

    def files_diff(self, body: dict) -> dict: ...

    def files_deploy(self, body: dict) -> dict: ...

    def audit(self, since: str, limit: int) -> dict:
        """The audit trail from `since` (clock.parse_since's rule) on, oldest first, the newest `limit` at most:
        {since, truncated, records} as the editor's GET /cluster/audit answers it."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Source: ...

    def __exit__(self, *exc: object) -> None: ...


class MongoSource:
    """The deployment's MongoDB. Connects at the first use; close() when done (the dispatcher does)."""

    def __init__(self, url: str, db_name: str, timeout: float, appname: str):
        self.url, self.db_name, self.timeout, self.appname = url, db_name, timeout, appname
        self._client: Any = None

    def _db(self):
        if self._client is None:
            import pymongo  # imported here so `--help` works without a driver

            ms = int(self.timeout * 1000)
            self._client = pymongo.MongoClient(
                self.url,
                serverSelectionTimeoutMS=ms,
                connectTimeoutMS=ms,
                socketTimeoutMS=ms,
                tz_aware=True,
                appname=self.appname,
            )
        return self._client[self.db_name]

    def _use(self, action: str, op: Callable[[Any], T]) -> T:
        """op(database); whatever the driver raises means the database could not be used."""
        try:
            return op(self._db())
        except _Missing as missing:
            raise exits.NoSuchRevision(str(missing)) from None
        except Exception as exc:  # pymongo raises many kinds; every one means "cannot use MongoDB"
            raise Unreachable(action, "MongoDB", f"{redact(self.url)} (db {self.db_name!r})", exc) from exc

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> MongoSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _now(self, db) -> dt.datetime:
        # Ages are measured against the database server's clock: the records' lastSeen comes from the
        # instances, and this machine's clock may be off.
        return utc(db.client.admin.command("hello").get("localTime")) or dt.datetime.now(dt.UTC)

    def snapshot(self, action: str = "read status from") -> Snapshot:
        def read(db) -> Snapshot:
            now = self._now(db)
            return Snapshot(
                instances=list(layout.collection(db, "instances").find({})),
                newest=newest_revision(layout.collection(db, "flows"), layout.SUMMARY),
                lease=layout.collection(db, layout.LEADER_LEASE.collection).find_one({"_id": layout.LEADER_LEASE.id}),
                now=now,
            )

        return self._use(action, read)

    def history(self, limit: int, stale_after: float) -> dict:
        """The newest `limit` revisions, each compared with the loadable one before it."""

        def read(db) -> dict:
            now = self._now(db)
            flows = layout.collection(db, "flows")
            docs = list(flows.find(layout.NUMBERED, sort=layout.NEWEST_FIRST, limit=limit + 1))
            strays = list(flows.find({"_id": {"$not": layout.NUMBERED["_id"]}}, layout.SUMMARY, limit=20))
            instances = list(layout.collection(db, "instances").find({}))
            return listing.build(docs, strays, instances, now, limit, stale_after)

        return self._use("read from", read)

    def diff(self, a: int, b: int) -> dict:
        older, newer = self._use("read from", lambda db: (_loadable(db, a), _loadable(db, b)))
        return listing.compare(older, newer)

    def rollback(self, rev: int, by: str) -> RolledBack:
        """Saves a new revision with `rev`'s flows and credentials."""
        source = self._use("read from", lambda db: _loadable(db, rev))
        return RolledBack(self._use("write to", lambda db: _save_rollback(db, source, rev, by)), by)

    def workers(self) -> tuple[list[dict], dt.datetime]:
        """The workers' instance records and the server's clock."""
        return self._use(
            "read from", lambda db: (list(layout.collection(db, "instances").find({"role": "worker"})), self._now(db))
        )

    def _editor_only(self, what: str) -> exits.CommandError:
        return exits.CommandError(f"{what} goes through the stack's editor: pass --url", exits.USAGE)

    def revision(self, rev: int) -> dict:
        raise self._editor_only("export")

    def files_diff(self, body: dict) -> dict:
        raise self._editor_only("diff --dir")

    def files_deploy(self, body: dict) -> dict:
        raise self._editor_only("deploy")

    def audit(self, since: str, limit: int) -> dict:
        def read(db) -> dict:
            start = parse_since(since, self._now(db))
            if start is None:
                raise ValueError(f"since {since!r} is no time or age")
            docs = list(
                layout.collection(db, "audit").find(
                    {"at": {"$gte": start}}, {"_id": 0}, sort=[("at", -1)], limit=limit + 1
                )
            )
            records = [_audit_record(d) for d in reversed(docs[:limit])]
            return {"since": iso(start), "truncated": len(docs) > limit, "records": records}

        return self._use("read from", read)


_AUDIT_FIELDS = ("event", "user", "via", "client", "rev", "deployType", "detail")


def _audit_record(doc: dict) -> dict:
    """An audit document as the editor's API gives it: every field, `at` as its ISO time."""
    return {"at": iso(doc.get("at")), **{k: doc.get(k) for k in _AUDIT_FIELDS}}


class _Missing(Exception):
    """Raised inside a database operation: no such revision, or one that cannot be loaded (why)."""


def _loadable(db, rev: int) -> dict:
    """Revision `rev`'s document, if it is kept and can be loaded; else _Missing saying why not (the
    editor's cluster API answers the same words)."""
    flows = layout.collection(db, "flows")
    doc = flows.find_one({"_id": rev})
    if doc is None:
        kept = [d["_id"] for d in flows.find(layout.NUMBERED, {"_id": 1}, sort=[("_id", 1)])]
        span = f"kept: {describe_id(kept[0])}..{describe_id(kept[-1])}" if kept else "no revision is kept"
        raise _Missing(f"no revision {rev} in the flows collection ({span})")
    problem = document_problem(doc)
    if problem:
        raise _Missing(f"revision {rev} cannot be loaded: {problem}")
    return doc


def _save_rollback(db, source: dict, rev: int, by: str) -> int:
    from pymongo.errors import DuplicateKeyError

    flows = layout.collection(db, "flows")
    for _ in range(5):
        number = next_revision(db)
        doc = {
            "_id": number,
            "rev": number,
            "deployId": str(uuid.uuid4()),
            # the flows as the source holds them (flowsJson, or flows as revisions were written before)
            # and the Node-RED that saved them (docs/image.md, "Upgrading Node-RED")
            **{k: source[k] for k in ("flowsJson", "flows", "nodeRedVersion") if k in source},
            "credentials": source.get("credentials"),
            "savedAt": dt.datetime.now(dt.UTC),
            "savedBy": by,
            "deployType": "rollback",
            "rollbackOf": rev,
        }
        try:
            flows.insert_one(doc)
            return number
        except DuplicateKeyError:
            continue  # a document inserted by hand holds that number: take the next one
    raise RuntimeError("could not find a free revision number in 5 attempts")
