"""`python -m nodered_status rollback REV`: a new revision with REV's flows and credentials.

The new revision is written the way the editor writes a deploy (one insert, a number never given
before, a fresh deployId), saved by an operator name, so every instance (workers and editor) loads it
like any deploy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
import time
import uuid

from . import db as dbmod
from .report import _utc
from .revisions import document_problem, next_revision

EXIT_OK = 0
EXIT_NOT_SERVED = 1  # --wait: not every worker serves the new revision in time (or it failed on one)
EXIT_NO_SUCH_REVISION = 4  # REV is not kept, or cannot be loaded (malformed)

DESCRIPTION = """\
Roll the flows back to revision REV: save a new revision with REV's flows and credentials,
saved by an operator name (--by). Every worker and the editor load it like any deploy. List the
revisions with `python -m nodered_status history`.

exit codes:
  0  saved (with --wait: and every live worker serves it)
  1  with --wait: not every live worker serves it within the time, or it failed on one (says why)
  2  bad arguments (e.g. no MongoDB URL given)
  3  cannot connect to, read from or write to MongoDB
  4  no revision REV is kept, or it cannot be loaded (malformed)
"""


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "operator"


def parse_args(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m nodered_status rollback",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("rev", type=int, metavar="REV", help="the revision whose flows and credentials to restore")
    dbmod.add_connection_args(p)
    p.add_argument("--by", default=None, metavar="NAME", help="saved by this name (default: your login name)")
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to this long until every live worker serves the new revision (default: do not wait)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = p.parse_args(argv)
    dbmod.check_connection_args(p, args)
    if args.wait < 0:
        p.error("--wait must not be negative")
    args.by = (args.by or _operator()).strip()
    if not args.by:
        p.error("--by must not be empty")
    return args


def save(database, rev: int, by: str) -> tuple[int | None, str | None]:
    """(new revision number, None), or (None, why REV cannot be rolled back to)."""
    from pymongo.errors import DuplicateKeyError

    source = database["flows"].find_one({"_id": rev})
    if source is None:
        kept = [d["_id"] for d in database["flows"].find({"_id": {"$type": "number"}}, {"_id": 1}, sort=[("_id", 1)])]
        span = f"kept: {kept[0]}..{kept[-1]}" if kept else "no revision is kept"
        return None, f"no revision {rev} in the flows collection ({span})"
    problem = document_problem(source)
    if problem:
        return None, f"revision {rev} cannot be loaded: {problem}"
    for _ in range(5):
        number = next_revision(database)
        doc = {
            "_id": number,
            "rev": number,
            "deployId": str(uuid.uuid4()),
            # the flows as the source holds them (flowsJson, or flows as revisions were written before)
            # (and the Node-RED that saved them: README, "Upgrading Node-RED")
            **{k: source[k] for k in ("flowsJson", "flows", "nodeRedVersion") if k in source},
            "credentials": source.get("credentials"),
            "savedAt": dt.datetime.now(dt.UTC),
            "savedBy": by,
            "deployType": "rollback",
            "rollbackOf": rev,
        }
        try:
            database["flows"].insert_one(doc)
            return number, None
        except DuplicateKeyError:
            continue  # a document inserted by hand holds that number: take the next one
    raise RuntimeError("could not find a free revision number in 5 attempts")


def wait_served(database, number: int, timeout: float) -> tuple[bool, list[str]]:
    """Polls the status records until every live worker serves `number`. (ok, problems)."""
    deadline = time.monotonic() + timeout
    while True:
        now = database.client.admin.command("hello").get("localTime") or dt.datetime.now(dt.UTC)
        workers = [
            w
            for w in database["instances"].find({"role": "worker"})
            if _utc(w.get("lastSeen")) and (_utc(now) - _utc(w["lastSeen"])).total_seconds() <= 30
        ]
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


def main(argv) -> int:
    args = parse_args(argv)
    client = dbmod.client(args.mongo_url, args.timeout, "nodered-status-rollback")
    try:
        database = client[args.db]
        try:
            number, why = save(database, args.rev, args.by)
        except Exception as exc:  # pymongo raises many kinds; every one means "cannot use MongoDB"
            return dbmod.unreachable(args.mongo_url, args.db, exc, "write to")
        if number is None:
            print(f"error: {why}", file=sys.stderr)
            return EXIT_NO_SUCH_REVISION
        out = {"rev": number, "rollbackOf": args.rev, "savedBy": args.by}
        if not args.json:
            print(
                f"rolled back: revision {number} saved with the flows and credentials of revision {args.rev} (by {args.by})"
            )
        code = EXIT_OK
        if args.wait > 0:
            try:
                ok, problems = wait_served(database, number, args.wait)
            except Exception as exc:
                return dbmod.unreachable(args.mongo_url, args.db, exc)
            out.update(served=ok, problems=problems)
            if not args.json:
                if ok:
                    print(f"every live worker serves revision {number}")
                else:
                    print(f"NOT SERVED everywhere after {args.wait:g} s:", *problems, sep="\n  ")
            code = EXIT_OK if ok else EXIT_NOT_SERVED
        if args.json:
            print(json.dumps(out, indent=2))
        return code
    finally:
        client.close()
