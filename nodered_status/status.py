"""`python -m nodered_status [--json | --watch]`: every instance and whether all workers run the newest
revision (report.py), once or refreshed (watch.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from nodered_contract import database as layout

from . import report, watch

if TYPE_CHECKING:
    from .source import Source

DESCRIPTION = """\
List every Node-RED instance of a nodered-scale deployment (role, revision it runs,
state, last seen) and say whether all workers run the newest flow revision. Reads the
deployment through its editor (--url https://editor.example.com, logged in with --user
and $NODE_RED_PASSWORD or a prompt, or --token) or from its MongoDB (--mongo-url).

other commands (each with --help; the connection options go before or after them):
  history         the kept flow revisions: who saved what when, what changed
  diff A B        what changed from revision A to revision B
  rollback REV    a new revision with REV's flows and credentials

exit codes:
  0  at least one worker, and every worker runs the newest revision
  1  not in sync: a worker is behind, not running, stale (not seen for
     --stale-after seconds), or there is no worker at all
  2  bad arguments (e.g. no editor or MongoDB URL given)
  3  cannot reach the editor, or connect to or read from MongoDB
  5  the editor refused the login
"""


def add_stale_after(p: argparse.ArgumentParser) -> None:
    """--stale-after, the same option and default for every command that tells live instances from stale."""
    default = layout.STALE_AFTER_SECONDS
    p.add_argument(
        "--stale-after",
        type=float,
        default=default,
        metavar="SECONDS",
        help=f"an instance not seen for longer than this is stale (default: {default:g})",
    )


def check_stale_after(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.stale_after <= 0:
        p.error("--stale-after must be positive")


def options(p: argparse.ArgumentParser) -> None:
    add_stale_after(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--watch",
        action="store_true",
        help="refresh the report (with each instance's lag and the leader, if any) until Ctrl-C",
    )
    p.add_argument(
        "--interval", type=float, default=2.0, metavar="SECONDS", help="--watch: refresh period (default: 2)"
    )
    p.add_argument("--count", type=int, default=None, metavar="N", help="--watch: stop after N refreshes")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    check_stale_after(p, args)
    if args.interval <= 0 or (args.count is not None and args.count < 1):
        p.error("--interval and --count must be positive")
    if args.watch and args.json:
        p.error("--watch shows a table; --json is for one report")


def run(args: argparse.Namespace, source: Source) -> int:
    if args.watch:
        return watch.run(source, args.stale_after, args.interval, args.count)
    snap = source.snapshot()
    r = report.build(snap.instances, snap.newest, snap.now, args.stale_after)
    if args.json:
        print(json.dumps(report.to_json(r), indent=2))
    else:
        sys.stdout.write(report.render_text(r))
    return r.exit_code
