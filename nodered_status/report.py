"""Pure logic of the status command: instance records + newest revision -> the report, as data (Report),
and its text, JSON and summary lines (which the --watch view shows under its own table).

Kept free of I/O so the rules (what counts as in sync, stale, failing) are tested directly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import exits
from .clock import format_age, utc

# How an instance's message starts while it refuses to serve (the storage's credential_key.js).
REFUSING = "refusing to serve: "


@dataclass
class Instance:
    id: str
    role: str
    host: str | None
    port: int | None
    pid: int | None
    rev: int | None
    state: str | None
    started_at: dt.datetime | None
    last_seen: dt.datetime | None
    failed_rev: int | str | None = None  # the last revision that failed there, until a newer one runs
    failure: str | None = None
    message: str | None = None  # "serving revision 5, revision 6 failed: ..."
    restart: dict | None = None  # {rev, count, at}: the last "restart flows" it carried out
    node_red_version: str | None = None  # None: a record of an image before records carried it (Node-RED 4.1)
    credential_key: str | None = None  # its credential key's fingerprint (first 12 hex digits); None: not recorded

    @classmethod
    def from_doc(cls, doc: dict) -> Instance:
        return cls(
            id=str(doc.get("_id")),
            role=str(doc.get("role") or "?"),
            host=doc.get("host"),
            port=doc.get("port"),
            pid=doc.get("pid"),
            rev=doc.get("rev"),
            state=doc.get("state"),
            started_at=utc(doc.get("startedAt")),
            last_seen=utc(doc.get("lastSeen")),
            failed_rev=doc.get("failedRev"),
            failure=doc.get("failure"),
            message=doc.get("message"),
            restart=doc.get("restart") if isinstance(doc.get("restart"), dict) else None,
            node_red_version=doc.get("nodeRedVersion") if isinstance(doc.get("nodeRedVersion"), str) else None,
            credential_key=doc.get("credentialKey") if isinstance(doc.get("credentialKey"), str) else None,
        )

    @property
    def refusal(self) -> str | None:
        """Why it refuses to serve (its credential key is not the database's), or None."""
        if self.state == "error" and self.message and self.message.startswith(REFUSING):
            return self.message
        return None


@dataclass
class Report:
    now: dt.datetime
    newest_rev: int | None
    newest_saved_at: dt.datetime | None
    newest_saved_by: str | None
    instances: list[Instance]
    stale_after: float
    problems: list[str] = field(default_factory=list)
    restarts: int = 0  # "restart flows" requests recorded on the newest revision
    restarted_at: dt.datetime | None = None
    restarted_by: str | None = None

    @property
    def workers(self) -> list[Instance]:
        return [i for i in self.instances if i.role == "worker"]

    def age(self, inst: Instance) -> float | None:
        if inst.last_seen is None:
            return None
        return max(0.0, (self.now - inst.last_seen).total_seconds())

    def is_stale(self, inst: Instance) -> bool:
        age = self.age(inst)
        return age is None or age > self.stale_after

    def worker_problem(self, w: Instance) -> str | None:
        """Why this worker does not count as serving the newest revision, or None."""
        if self.is_stale(w):
            return "stale"
        if w.refusal:
            return w.refusal
        if w.failed_rev is not None and w.failure and (w.rev or 0) != (self.newest_rev or 0):
            serving = f"serving {w.rev}" if w.rev is not None and w.state == "running" else "not serving"
            return f"revision {w.failed_rev} failed: {w.failure} ({serving})"
        if w.state != "running":
            return f"state {w.state or 'unknown'}"
        # Before the first deploy a worker runs the storage's empty flow set, revision 0.
        if (w.rev or 0) != (self.newest_rev or 0):
            return "behind"
        return None

    def restarted(self, inst: Instance) -> bool:
        """Whether this instance carried out the newest revision's last "restart flows" (or started after it)."""
        r = inst.restart or {}
        if r.get("rev") == self.newest_rev and (r.get("count") or 0) >= self.restarts:
            return True
        return bool(self.restarted_at and inst.started_at and inst.started_at >= self.restarted_at)

    @property
    def in_sync(self) -> bool:
        return bool(self.workers) and all(self.worker_problem(w) is None for w in self.workers)

    @property
    def exit_code(self) -> int:
        return exits.OK if self.in_sync else exits.NOT_IN_SYNC


def build(instance_docs, newest_doc, now: dt.datetime, stale_after: float) -> Report:
    instances = sorted(
        (Instance.from_doc(d) for d in instance_docs),
        key=lambda i: (i.role != "editor", i.role, i.id),
    )
    newest_doc = newest_doc or {}
    rev = newest_doc.get("rev", newest_doc.get("_id"))
    return Report(
        now=utc(now) or now,
        newest_rev=rev,
        newest_saved_at=utc(newest_doc.get("savedAt")),
        newest_saved_by=newest_doc.get("savedBy"),
        instances=instances,
        stale_after=stale_after,
        restarts=int(newest_doc.get("restarts") or 0),
        restarted_at=utc(newest_doc.get("restartedAt")),
        restarted_by=newest_doc.get("restartedBy"),
    )


def note(r: Report, i: Instance) -> str:
    """What the NOTE column says of an instance: why a worker does not count, a stale or failing editor."""
    if i.role == "worker":
        return r.worker_problem(i) or ""
    if r.is_stale(i):
        return "stale"
    if i.refusal:
        return i.refusal
    if i.failed_rev is not None and i.failure:
        return f"revision {i.failed_rev} failed: {i.failure}"
    return ""


def summary(r: Report) -> list[str]:
    """The lines under the instances: the newest revision, the last restart, failed revisions, the verdict."""
    lines = []
    if r.newest_rev is None:
        lines.append("newest revision: none deployed yet")
    else:
        saved = ""
        if r.newest_saved_at:
            saved = f", saved {format_age((r.now - r.newest_saved_at).total_seconds())}"
        if r.newest_saved_by:
            saved += f" by {r.newest_saved_by}"
        lines.append(f"newest revision: {r.newest_rev}{saved}")
    workers = r.workers
    if r.restarts:
        when = f" {format_age((r.now - r.restarted_at).total_seconds())}" if r.restarted_at else ""
        by = f" by {r.restarted_by}" if r.restarted_by else ""
        done = sum(1 for w in workers if not r.is_stale(w) and r.restarted(w))
        lines.append(
            f"flows restarted{when}{by} (restart {r.restarts}): {done} of {len(workers)} workers restarted them"
        )
    failures: dict[tuple, list[Instance]] = {}
    for w in workers:
        if not r.is_stale(w) and w.failed_rev is not None and w.failure:
            failures.setdefault((w.failed_rev, w.failure), []).append(w)
    for (failed_rev, why), ws in failures.items():
        serving = sorted({str(w.rev) for w in ws if w.rev is not None and w.state == "running"})
        tail = f"; they serve revision {', '.join(serving)}" if serving else "; they serve nothing"
        lines.append(f"revision {failed_rev} failed on {len(ws)} of {len(workers)} workers: {why}{tail}")
    versions: dict[str, list[str]] = {}
    for i in r.instances:
        if not r.is_stale(i):
            versions.setdefault(i.node_red_version or "unrecorded (before 5)", []).append(i.id)
    if len(versions) > 1:
        # A rolling update under way (docs/image.md: "Upgrading Node-RED"): the editor refuses deploys meanwhile
        # when a worker runs an older Node-RED than its own.
        each = "; ".join(f"{v}: {', '.join(ids)}" for v, ids in versions.items())
        lines.append(f"Node-RED versions differ ({each}): an update is under way")
    keys: dict[str, list[str]] = {}
    for i in r.instances:
        if not r.is_stale(i) and i.credential_key:
            keys.setdefault(i.credential_key, []).append(i.id)
    if len(keys) > 1:
        # A key rotation under way (docs/operations.md): the editor refuses deploys meanwhile.
        each = "; ".join(f"{k}: {', '.join(ids)}" for k, ids in keys.items())
        lines.append(f"credential keys differ ({each}): a key rotation is under way")
    refusing = [i for i in r.instances if not r.is_stale(i) and i.refusal]
    for reason in dict.fromkeys(i.refusal for i in refusing):
        ids = [i.id for i in refusing if i.refusal == reason]
        lines.append(f"{len(ids)} instance{'s' if len(ids) > 1 else ''} {reason} ({', '.join(ids)})")
    ok = sum(1 for w in workers if r.worker_problem(w) is None)
    if not workers:
        lines.append("NOT IN SYNC: no worker instances found")
    elif r.in_sync:
        lines.append(f"IN SYNC: all {len(workers)} workers run revision {r.newest_rev}")
    else:
        lines.append(
            f"NOT IN SYNC: {ok} of {len(workers)} workers run revision {'-' if r.newest_rev is None else r.newest_rev}"
        )
    return lines


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns as wide as their widest cell, two spaces apart."""
    widths = [max(len(row[c]) for row in [header, *rows]) for c in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]


def render_text(r: Report) -> str:
    rows = [
        (
            i.id,
            i.role,
            f"{i.host}:{i.port}" if i.host else "-",
            "-" if i.rev is None else str(i.rev),
            i.state or "-",
            format_age(r.age(i)),
            note(r, i),
        )
        for i in r.instances
    ]
    lines = table(("INSTANCE", "ROLE", "ADDRESS", "REV", "STATE", "LAST SEEN", "NOTE"), rows)
    if not rows:
        lines.append("(no instance records)")
        if r.newest_rev is None:
            lines.append("(no flow revisions either: is this the deployment's database? see --db / MONGO_DB)")
    return "\n".join([*lines, "", *summary(r)]) + "\n"


def to_json(r: Report) -> dict:
    def iso(t):
        return t.isoformat() if t else None

    return {
        "newestRev": r.newest_rev,
        "inSync": r.in_sync,
        "staleAfterSeconds": r.stale_after,
        "instances": [
            {
                "id": i.id,
                "role": i.role,
                "host": i.host,
                "port": i.port,
                "pid": i.pid,
                "rev": i.rev,
                "state": i.state,
                "startedAt": iso(i.started_at),
                "lastSeen": iso(i.last_seen),
                "lastSeenAgeSeconds": r.age(i),
                "stale": r.is_stale(i),
                "problem": r.worker_problem(i) if i.role == "worker" else None,
                "failedRev": i.failed_rev,
                "failure": i.failure,
                "message": i.message,
                "nodeRedVersion": i.node_red_version,
                "credentialKey": i.credential_key,
                "refusal": i.refusal,
                "restarted": r.restarted(i) if r.restarts else None,
            }
            for i in r.instances
        ],
        "restarts": r.restarts,
        "restartedAt": iso(r.restarted_at),
        "restartedBy": r.restarted_by,
    }
