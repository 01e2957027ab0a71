"""`python -m nodered_status history`: the kept flow revisions, newest first, with what changed."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from . import exits
from .clock import format_age, utc
from .revisions import Changes, describe_id, diff, document_problem, flows_of, with_flows_read
from .source import Source
from .status import add_stale_after, check_stale_after

DESCRIPTION = """\
List the flow revisions kept in MongoDB (the editor keeps the newest NODE_RED_REVISIONS_KEPT),
newest first: revision, when and by whom it was saved, its deploy type, node count, what changed
from the revision before it (tabs and nodes added +, removed -, changed ~), and which instances
serve it or could not start it (instances not seen for --stale-after seconds count as
serving nothing). Documents that cannot be loaded are listed as MALFORMED.

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


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=20, metavar="N", help="newest N revisions (default: 20)")
    add_stale_after(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    check_stale_after(p, args)
    if args.limit < 1:
        p.error("--limit must be at least 1")


def is_live(record: dict, now: dt.datetime, stale_after: float) -> bool:
    """Whether an instance record was written within stale_after seconds (the report's rule too)."""
    seen = utc(record.get("lastSeen"))
    return seen is not None and (now - seen).total_seconds() <= stale_after


def build(docs: list[dict], instances: list[dict], now: dt.datetime, limit: int, stale_after: float) -> list[Row]:
    rows = [Row(doc=d, problem=document_problem(d)) for d in map(with_flows_read, docs)]
    live = [i for i in instances if is_live(i, now, stale_after)]
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
    at = utc(doc.get("savedAt"))
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
        at = utc(row.doc.get("restartedAt"))
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
        at = utc(r.doc.get("savedAt"))
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
        t = utc(v)
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


def run(args: argparse.Namespace, source: Source) -> int:
    found = source.revisions(args.limit)
    rows = build(found.docs, found.instances, found.now, args.limit, args.stale_after)
    if args.json:
        print(json.dumps(to_json(rows, found.strays), indent=2, default=str))
    else:
        sys.stdout.write(render_text(rows, found.strays, found.now))
    return exits.OK
