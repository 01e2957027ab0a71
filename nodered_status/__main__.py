"""Command line: `python -m nodered_status [--mongo-url URL] [--db NAME] [--json]` (the status report),
`python -m nodered_status history ...`, `python -m nodered_status rollback REV ...` (history.py, rollback.py)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from typing import Any

from . import history, report, rollback, watch
from .db import add_connection_args, check_connection_args, redact

# Subcommands; without one, the command prints the status report below.
SUBCOMMANDS = {"history": history.main, "rollback": rollback.main}

DESCRIPTION = """\
List every Node-RED instance of a nodered-scale deployment (role, revision it runs,
state, last seen) and say whether all workers run the newest flow revision.

other commands (each with --help):
  history         the kept flow revisions: who saved what when, what changed
  rollback REV    a new revision with REV's flows and credentials

exit codes:
  0  at least one worker, and every worker runs the newest revision
  1  not in sync: a worker is behind, not running, stale (not seen for
     --stale-after seconds), or there is no worker at all
  2  bad arguments (e.g. no MongoDB URL given)
  3  cannot connect to or read from MongoDB
"""


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m nodered_status", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_connection_args(p)
    p.add_argument(
        "--stale-after",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="an instance not seen for longer than this is stale (default: 30)",
    )
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
    args = p.parse_args(argv)
    check_connection_args(p, args)
    if args.stale_after <= 0:
        p.error("--stale-after must be positive")
    if args.interval <= 0 or (args.count is not None and args.count < 1):
        p.error("--interval and --count must be positive")
    if args.watch and args.json:
        p.error("--watch shows a table; --json is for one report")
    return args


def fetch(url: str, db_name: str, timeout: float):
    """(instance docs, newest revision doc or None, server's clock) read from MongoDB."""
    import pymongo  # imported here so `--help` works without a driver

    ms = int(timeout * 1000)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        url,
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
        tz_aware=True,
        appname="nodered-status",
    )
    try:
        hello = client.admin.command("hello")
        db = client[db_name]
        instances = list(db["instances"].find({}))
        # The newest numbered revision (a document whose _id is no number is never a revision).
        newest = db["flows"].find_one(
            {"_id": {"$type": "number"}}, sort=[("_id", -1)], projection={"flows": 0, "flowsJson": 0, "credentials": 0}
        )
    finally:
        client.close()
    # Ages are measured against the database server's clock: the records' lastSeen
    # comes from the instances, and this machine's clock may be off.
    now = hello.get("localTime") or dt.datetime.now(dt.UTC)
    return instances, newest, now


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in SUBCOMMANDS:
        return SUBCOMMANDS[argv[0]](argv[1:])
    args = parse_args(argv)
    if args.watch:
        return watch.main(args)
    try:
        instances, newest, now = fetch(args.mongo_url, args.db, args.timeout)
    except Exception as exc:  # pymongo raises many kinds; every one means "cannot read"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        first = re.split(r" \(configured timeouts|, Timeout: ", first)[0]
        print(
            f"error: cannot read status from MongoDB at {redact(args.mongo_url)} "
            f"(db {args.db!r}): {type(exc).__name__}: {first[:300]}",
            file=sys.stderr,
        )
        return report.EXIT_UNREACHABLE
    r = report.build(instances, newest, now, args.stale_after)
    if args.json:
        print(json.dumps(report.to_json(r), indent=2))
    else:
        sys.stdout.write(report.render_text(r))
    return r.exit_code


if __name__ == "__main__":
    sys.exit(main())
