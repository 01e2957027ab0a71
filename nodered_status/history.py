"""`python -m nodered_status history`: the kept flow revisions, newest first, with what changed."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from . import db as dbmod
from .report import _utc, format_age
from .revisions import Changes, describe_id, diff, document_problem, flows_of, with_flows_read

EXIT_OK = 0
STALE_AFTER = 30.0  # seconds: an instance record older than this does not count as serving anything

DESCRIPTION = """\
List the flow revisions kept in MongoDB (the editor keeps the newest NODE_RED_REVISIONS_KEPT),
newest first: revision, when and by whom it was saved, its deploy type, node count, what changed
from the revision before it (tabs and nodes added +, removed -, changed ~), and which instances
serve it or could not start it. Documents that cannot be loaded are listed as MALFORMED.

exit codes:
  0  listed (also when there is no revision)
  2  bad arguments (e.g. no MongoDB URL given)
  3  cannot connect to or read from MongoDB
"""


@dataclass
class Row:
    doc: dict
    problem: str | None
    changes: Changes | None = None
    previous: int | None = None
    serving: list[str] = field(default_factory=list)  # roles of live instances serving it
    failed: list[tuple[str, str]] = field(default_factory=list)  # (role, reason)

    @property
    def rev(self):
        return self.doc.get("_id")


def parse_args(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m nodered_status history",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dbmod.add_connection_args(p)
    p.add_argument("--limit", type=int, default=20, metavar="N", help="newest N revisions (default: 20)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = p.parse_args(argv)
    dbmod.check_connection_args(p, args)
    if args.limit < 1:
        p.error("--limit must be at least 1")
    return args


def fetch(url: str, db_name: str, timeout: float, limit: int):
    """(revision docs newest first, stray docs, instance records, server time)."""
    client = dbmod.client(url, timeout, "nodered-status-history")
    try:
        hello = client.admin.command("hello")
        d = client[db_name]
        # One more than asked: the oldest listed is compared with the one before it.
        docs = list(d["flows"].find({"_id": {"$type": "number"}}, sort=[("_id", -1)], limit=limit + 1))
        strays = list(
            d["flows"].find(
                {"_id": {"$not": {"$type": "number"}}}, {"flows": 0, "flowsJson": 0, "credentials": 0}, limit=20
            )
        )
        instances = list(d["instances"].find({}))
    finally:
        client.close()
    return docs, strays, instances, hello.get("localTime") or dt.datetime.now(dt.UTC)


def build(docs: list[dict], instances: list[dict], now: dt.datetime, limit: int) -> list[Row]:
    rows = [Row(doc=d, problem=document_problem(d)) for d in map(with_flows_read, docs)]
    live = [
        i for i in instances if _utc(i.get("lastSeen")) and (now - _utc(i["lastSeen"])).total_seconds() <= STALE_AFTER
    ]
    for i, row in enumerate(rows):
        if row.problem is None:
            older = next((r for r in rows[i + 1 :] if r.problem is None), None)
            if older is not None:
                row.changes = diff(older.doc, row.doc)
                row.previous = older.rev
        for inst in live:
            role = str(inst.get("role") or "?")
            if inst.get("rev") == row.rev and inst.get("state") == "running":
                row.serving.append(role)
            if inst.get("failedRev") == row.rev:
                row.failed.append((role, str(inst.get("failure") or "?")))
    return rows[:limit]


def _count(roles: list[str]) -> str:
    workers = sum(1 for r in roles if r == "worker")
    parts = [f"{workers} worker{'s' if workers != 1 else ''}"] if workers else []
    if "editor" in roles:
        parts.append("the editor")
    return " and ".join(parts)


def _saved(doc: dict) -> str:
    at = _utc(doc.get("savedAt"))
    return at.strftime("%Y-%m-%d %H:%M:%SZ") if at else "-"


def _type(doc: dict) -> str:
    t = str(doc.get("deployType") or "-")
    if doc.get("rollbackOf") is not None:
        t += f" of {describe_id(doc['rollbackOf'])}"
    return t


def _nodes(doc: dict) -> str:
    flows = flows_of(doc)[0]
    return str(len(flows)) if flows is not None else "-"


def notes(row: Row, now: dt.datetime) -> list[str]:
    out = []
    if row.problem:
        out.append(f"MALFORMED: {row.problem} (never loaded)")
    if row.serving:
        out.append(f"served by {_count(row.serving)}")
    if row.failed:
        reasons = sorted({reason for _, reason in row.failed})
        out.append(f"failed on {_count([r for r, _ in row.failed])}: {'; '.join(reasons)}")
    restarts = row.doc.get("restarts")
    if restarts:
        at = _utc(row.doc.get("restartedAt"))
        when = f" {format_age((now - at).total_seconds())}" if at else ""
        by = f" by {row.doc['restartedBy']}" if row.doc.get("restartedBy") else ""
        out.append(f"flows restarted {restarts}x (last{when}{by})")
    return out


def render_text(rows: list[Row], strays: list[dict], now: dt.datetime) -> str:
    if not rows and not strays:
        return "no flow revisions in this database (is it the deployment's? see --db / MONGO_DB)\n"
    header = ("REV", "SAVED", "AGE", "BY", "TYPE", "NODES", "CHANGES", "NOTE")
    table = [header]
    for r in rows:
        at = _utc(r.doc.get("savedAt"))
        if r.problem:
            changes = "-"
        elif r.changes is None:
            changes = "(oldest kept)"
        else:
            changes = r.changes.summary()
        table.append(
            (
                describe_id(r.rev),
                _saved(r.doc),
                format_age((now - at).total_seconds()) if at else "-",
                str(r.doc.get("savedBy") or "-"),
                _type(r.doc),
                _nodes(r.doc),
                changes,
                "; ".join(notes(r, now)),
            )
        )
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    lines = []
    for row in table:
        cells = [row[0].rjust(widths[0])] + [cell.ljust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    if strays:
        lines.append("")
        lines.append("not revisions (their _id is no revision number: never loaded, delete them):")
        for s in strays:
            by = f", saved by {s['savedBy']}" if s.get("savedBy") else ""
            lines.append(f"  _id {describe_id(s.get('_id'))}{by}")
    return "\n".join(lines) + "\n"


def to_json(rows: list[Row], strays: list[dict]) -> dict[str, Any]:
    def iso(v):
        t = _utc(v)
        return t.isoformat() if t else None

    return {
        "revisions": [
            {
                "rev": r.rev,
                "savedAt": iso(r.doc.get("savedAt")),
                "savedBy": r.doc.get("savedBy"),
                "deployType": r.doc.get("deployType"),
                "nodeRedVersion": r.doc.get("nodeRedVersion"),
                "rollbackOf": r.doc.get("rollbackOf"),
                "nodes": len(flows) if (flows := flows_of(r.doc)[0]) is not None else None,
                "problem": r.problem,
                "previousRev": r.previous,
                "changes": r.changes.to_json() if r.changes else None,
                "restarts": r.doc.get("restarts") or 0,
                "restartedAt": iso(r.doc.get("restartedAt")),
                "restartedBy": r.doc.get("restartedBy"),
                "servedBy": r.serving,
                "failedOn": [{"role": role, "reason": reason} for role, reason in r.failed],
            }
            for r in rows
        ],
        "notRevisions": [describe_id(s.get("_id")) for s in strays],
    }


def main(argv) -> int:
    args = parse_args(argv)
    try:
        docs, strays, instances, now = fetch(args.mongo_url, args.db, args.timeout, args.limit)
    except Exception as exc:  # pymongo raises many kinds; every one means "cannot read"
        return dbmod.unreachable(args.mongo_url, args.db, exc)
    now = _utc(now)
    rows = build(docs, instances, now, args.limit)
    if args.json:
        print(json.dumps(to_json(rows, strays), indent=2, default=str))
    else:
        sys.stdout.write(render_text(rows, strays, now))
    return EXIT_OK
