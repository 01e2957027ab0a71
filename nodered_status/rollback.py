"""`python -m nodered_status rollback REV`: a new revision with REV's flows and credentials.

The new revision is written the way the editor writes a deploy (one insert, a number never given
before, a fresh deployId), saved by an operator name, so every instance (workers and editor) loads it
like any deploy.
"""

from __future__ import annotations

import argparse
import getpass
import json
import time
from typing import TYPE_CHECKING

from . import exits
from .listing import is_live
from .status import add_stale_after, check_stale_after

if TYPE_CHECKING:
    from .source import Source

DESCRIPTION = """\
Roll the flows back to revision REV: save a new revision with REV's flows and credentials,
saved by an operator name (--by; with --url the editor's logged-in user). Every worker and the
editor load it like any deploy. List the revisions with `python -m nodered_status history`.

exit codes:
  0  saved (with --wait: and every live worker serves it)
  1  with --wait: not every live worker serves it within the time, or it failed on one (says why)
  2  bad arguments (e.g. no editor or MongoDB URL given)
  3  cannot reach the editor, or connect to, read from or write to MongoDB
  4  no revision REV is kept, or it cannot be loaded (malformed)
  5  the editor refused the login, or the user may not change the cluster (cluster.write)
"""


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "operator"


def positionals(p: argparse.ArgumentParser) -> None:
    p.add_argument("rev", type=int, metavar="REV", help="the revision whose flows and credentials to restore")


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--by",
        default=None,
        metavar="NAME",
        help="saved by this name (default: your login name; with --url: the editor's user, always)",
    )
    add_wait(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_wait(p: argparse.ArgumentParser) -> None:
    """--wait and --stale-after, for a command that saves a revision (rollback, deploy)."""
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to this long until every live worker serves the new revision (default: do not wait)",
    )
    add_stale_after(p)


def check_wait(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    check_stale_after(p, args)
    if args.wait < 0:
        p.error("--wait must not be negative")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    check_wait(p, args)
    if args.url is not None and args.by is not None:
        p.error("--by is for --mongo-url: through the editor, the revision is saved by the logged-in user")
    args.by = (args.by or _operator()).strip()
    if not args.by:
        p.error("--by must not be empty")


def wait_served(source: Source, number: int, timeout: float, stale_after: float) -> tuple[bool, list[str]]:
    """Polls the status records until every live worker serves `number`. (ok, problems)."""
    deadline = time.monotonic() + timeout
    while True:
        records, now = source.workers()
        workers = [w for w in records if is_live(w, now, stale_after)]
        problems = []
        for w in workers:
            if w.get("failedRev") == number:
                problems.append(f"{w['_id']}: revision {number} failed: {w.get('failure')}")
            elif w.get("rev") != number or not w.get("ready", w.get("state") == "running"):
                problems.append(f"{w['_id']}: serves revision {w.get('rev')} ({w.get('state')})")
        if not workers:
            problems = ["no live worker instances"]
        failed = any("failed:" in p for p in problems)
        if not problems or failed or time.monotonic() >= deadline:
            return not problems, problems
        time.sleep(0.2)


def follow(source: Source, number: int, args: argparse.Namespace) -> tuple[int, dict]:
    """With --wait: waits until every live worker serves `number`, says so unless --json; the exit code and
    {served, problems} for the JSON answer ({} without --wait)."""
    if args.wait <= 0:
        return exits.OK, {}
    ok, problems = wait_served(source, number, args.wait, args.stale_after)
    if not args.json:
        if ok:
            print(f"every live worker serves revision {number}")
        else:
            print(f"NOT SERVED everywhere after {args.wait:g} s:", *problems, sep="\n  ")
    return (exits.OK if ok else exits.NOT_IN_SYNC), {"served": ok, "problems": problems}


def run(args: argparse.Namespace, source: Source) -> int:
    saved = source.rollback(args.rev, args.by)
    number = saved.rev
    out = {"rev": number, "rollbackOf": args.rev, "savedBy": saved.saved_by}
    if not args.json:
        print(
            f"rolled back: revision {number} saved with the flows and credentials of revision {args.rev} "
            f"(by {saved.saved_by})"
        )
    code, served = follow(source, number, args)
    if args.json:
        print(json.dumps({**out, **served}, indent=2))
    return code
