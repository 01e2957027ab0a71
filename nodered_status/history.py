"""`python -m nodered_status history`: the kept flow revisions, newest first, with what changed."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING

from . import exits
from .clock import format_age, parse_iso
from .revisions import describe_id
from .status import add_stale_after, check_stale_after

if TYPE_CHECKING:
    from .source import Source

DESCRIPTION = """\
List the flow revisions kept (the editor keeps the newest NODE_RED_REVISIONS_KEPT), newest
first: revision, when and by whom it was saved, its deploy type, node count, what changed from
the revision before it (tabs, subflows and nodes added +, removed -, changed ~; `diff A B` shows
which), and which instances serve it or could not start it (instances not seen for --stale-after
seconds count as serving nothing). Documents that cannot be loaded are listed as MALFORMED.

exit codes:
  0  listed (also when there is no revision)
  2  bad arguments (e.g. no editor or MongoDB URL given)
  3  cannot reach the editor, or connect to or read from MongoDB
  5  the editor refused the login
"""


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=int, default=20, metavar="N", help="newest N revisions (default: 20)")
    add_stale_after(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    check_stale_after(p, args)
    if args.limit < 1:
        p.error("--limit must be at least 1")


def _count(roles: list[str]) -> str:
    workers = sum(1 for r in roles if r == "worker")
    parts = [f"{workers} worker{'s' if workers != 1 else ''}"] if workers else []
    if "editor" in roles:
        parts.append("the editor")
    return " and ".join(parts)


def _type(row: dict) -> str:
    t = str(row.get("deployType") or "-")
    if row.get("rollbackOf") is not None:
        t += f" of {describe_id(row['rollbackOf'])}"
    return t


def notes(row: dict, now: dt.datetime) -> list[str]:
    out = []
    if row["problem"]:
        out.append(f"MALFORMED: {row['problem']} (never loaded)")
    if row["servedBy"]:
        out.append(f"served by {_count(row['servedBy'])}")
    if row["failedOn"]:
        reasons = sorted({f["reason"] for f in row["failedOn"]})
        out.append(f"failed on {_count([f['role'] for f in row['failedOn']])}: {'; '.join(reasons)}")
    if row.get("restarts"):
        at = parse_iso(row.get("restartedAt"))
        when = f" {format_age((now - at).total_seconds())}" if at else ""
        by = f" by {row['restartedBy']}" if row.get("restartedBy") else ""
        out.append(f"flows restarted {row['restarts']}x (last{when}{by})")
    return out


def render_text(listing: dict) -> str:
    """The table of a listing (listing.py's data, or the editor's GET /cluster/revisions: the same)."""
    rows, strays = listing["revisions"], listing["notRevisions"]
    now = parse_iso(listing["now"]) or dt.datetime.now(dt.UTC)
    if not rows and not strays:
        return "no flow revisions in this database (is it the deployment's? see --db / MONGO_DB)\n"
    header = ("REV", "SAVED", "AGE", "BY", "TYPE", "NODES", "CHANGES", "NOTE")
    table = [header]
    for r in rows:
        at = parse_iso(r.get("savedAt"))
        if r["problem"]:
            changes = "-"
        elif r["changes"] is None:
            changes = "(oldest kept)"
        else:
            changes = r["changes"]["summary"]
        table.append(
            (
                describe_id(r["rev"]),
                at.strftime("%Y-%m-%d %H:%M:%SZ") if at else "-",
                format_age((now - at).total_seconds()) if at else "-",
                str(r.get("savedBy") or "-"),
                _type(r),
                "-" if r.get("nodes") is None else str(r["nodes"]),
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
            lines.append(f"  _id {s['id']}{by}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, source: Source) -> int:
    found = source.history(args.limit, args.stale_after)
    if args.json:
        print(json.dumps({k: found[k] for k in ("revisions", "notRevisions")}, indent=2, default=str))
    else:
        sys.stdout.write(render_text(found))
    return exits.OK
