"""`python -m nodered_status audit`: the editor's audit trail (docs/editor-access.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING

from . import exits
from .clock import SINCE_RULE, parse_iso, parse_since

if TYPE_CHECKING:
    from .source import Source

DESCRIPTION = """\
List the editor's audit trail, oldest first: logins (succeeded and failed), logouts, deploys,
restarts of flows, rollbacks, API token uses and sessions ended by a change of the logins, each
with its time, the user (or API token), how they logged in, the client address and the revision.
The editor keeps each record editor.auditRetentionDays (default 90).

exit codes:
  0  listed (also when there is no record)
  2  bad arguments
  3  cannot reach the editor, or connect to or read from MongoDB
  5  the editor refused the login, or the login may not read the cluster
"""

MAX_LIMIT = 10000
COLUMNS = ("TIME", "EVENT", "USER", "VIA", "CLIENT", "REV", "DETAIL")


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", default="24h", metavar="WHEN", help=f"records from then on: {SINCE_RULE} (default: 24h)")
    p.add_argument(
        "--limit",
        type=int,
        default=1000,
        metavar="N",
        help=f"the newest N records at most (default: 1000, max {MAX_LIMIT})",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if parse_since(args.since, dt.datetime.now(dt.UTC)) is None:
        p.error(f"--since {args.since!r}: give {SINCE_RULE}")
    if not 1 <= args.limit <= MAX_LIMIT:
        p.error(f"--limit must be from 1 to {MAX_LIMIT}")


def render_text(found: dict) -> str:
    """The table of a trail (MongoSource.audit's data, or the editor's GET /cluster/audit: the same)."""
    records = found["records"]
    since = parse_iso(found.get("since"))
    lines = []
    if not records:
        lines.append(f"no audit records since {since.strftime('%Y-%m-%d %H:%M:%SZ') if since else found.get('since')}")
    else:
        table = [COLUMNS]
        for r in records:
            at = parse_iso(r.get("at"))
            table.append(
                (
                    at.strftime("%Y-%m-%d %H:%M:%SZ") if at else "-",
                    str(r.get("event") or "-"),
                    str(r.get("user") or "-"),
                    str(r.get("via") or "-"),
                    str(r.get("client") or "-"),
                    "-" if r.get("rev") is None else str(r["rev"]),
                    " ".join(p for p in (r.get("deployType"), r.get("detail")) if p),
                )
            )
        widths = [max(len(row[c]) for row in table) for c in range(len(COLUMNS))]
        for row in table:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if found.get("truncated"):
        lines.append(f"(the newest {len(records)} only: narrow --since or raise --limit for the rest)")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, source: Source) -> int:
    found = source.audit(args.since, args.limit)
    if args.json:
        print(json.dumps({k: found[k] for k in ("since", "truncated", "records")}, indent=2, default=str))
    else:
        sys.stdout.write(render_text(found))
    return exits.OK
