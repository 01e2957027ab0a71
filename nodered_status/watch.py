"""`python -m nodered_status --watch`: the status report, refreshed, for operators to keep open during a
deploy. Each refresh shows every instance with how far behind it is (revisions, and seconds since
the newest revision was saved while it does not run it yet), the newest revision, and the leader
(the `leases` document "flows-leader", or an instance record with `leader: true`) when the stack has one.

A database that stops answering is shown as such and watched on: the view comes back with it.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any, TextIO

from . import report

LEADER_LEASE = "flows-leader"
CLEAR = "\x1b[H\x1b[2J"  # cursor home, clear screen


def snapshot(db) -> tuple[list[dict], dict | None, dict | None, dt.datetime]:
    """(instance docs, newest revision doc, leader lease doc or None, the server's clock)."""
    hello = db.client.admin.command("hello")
    instances = list(db["instances"].find({}))
    newest = db["flows"].find_one({}, sort=[("_id", -1)], projection={"flows": 0, "flowsJson": 0, "credentials": 0})
    lease = db["leases"].find_one({"_id": LEADER_LEASE})
    now = hello.get("localTime") or dt.datetime.now(dt.UTC)
    return instances, newest, lease, now


def _utc(t: Any) -> dt.datetime | None:
    if not isinstance(t, dt.datetime):
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def lag(r: report.Report, inst: report.Instance) -> str:
    """How far behind the newest revision an instance is: "-" in step, else revisions and seconds."""
    if r.newest_rev is None or inst.rev is None:
        return "-" if r.newest_rev is None else "no flows"
    behind = r.newest_rev - inst.rev
    if behind <= 0:
        return "-"
    since = f", {(r.now - r.newest_saved_at).total_seconds():.1f}s" if r.newest_saved_at else ""
    return f"{behind} rev{'s' if behind > 1 else ''}{since}"


def leader_line(r: report.Report, lease: dict | None, docs: list[dict]) -> str | None:
    """The leader, from its lease (holder, term, expiry) or the instance records; None if the stack has none."""
    if lease:
        expires = _utc(lease.get("expiresAt"))
        holder = lease.get("holder") or "?"
        if expires is not None and expires <= r.now:
            return f"leader: none (the lease of {holder} expired {(r.now - expires).total_seconds():.0f}s ago)"
        parts = [f"term {lease['term']}"] if lease.get("term") is not None else []
        if expires is not None:
            parts.append(f"lease expires in {(expires - r.now).total_seconds():.0f}s")
        return f"leader: {holder}" + (f" ({', '.join(parts)})" if parts else "")
    flagged = [str(d.get("_id")) for d in docs if d.get("leader") is True]
    if flagged:
        return f"leader: {', '.join(sorted(flagged))}"
    if any("leader" in d for d in docs):
        return "leader: none"
    return None


def render(r: report.Report, docs: list[dict], lease: dict | None) -> str:
    leaders = {str(d.get("_id")) for d in docs if d.get("leader") is True}
    if lease and lease.get("holder"):
        leaders.add(str(lease["holder"]))
    header = ("INSTANCE", "ROLE", "REV", "LAG", "STATE", "LAST SEEN", "NOTE")
    rows = [header]
    for i in r.instances:
        note = r.worker_problem(i) if i.role == "worker" else ("stale" if r.is_stale(i) else None)
        notes = [n for n in (note, "leader" if i.id in leaders else None) if n]
        rev = "-" if i.rev is None else str(i.rev)
        rows.append((i.id, i.role, rev, lag(r, i), i.state or "-", report.format_age(r.age(i)), ", ".join(notes)))
    widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if len(rows) == 1:
        lines.append("(no instance records)")
    # The report's own summary: newest revision, IN SYNC / NOT IN SYNC.
    summary = report.render_text(r).rstrip("\n").split("\n\n")[-1]
    lines += ["", summary]
    line = leader_line(r, lease, docs)
    if line:
        lines.append(line)
    return "\n".join(lines) + "\n"


def run(
    client,
    db_name: str,
    stale_after: float,
    interval: float,
    count: int | None = None,
    out: TextIO = sys.stdout,
    clear: bool | None = None,
) -> int:
    """Refresh every `interval` seconds until Ctrl-C (or `count` refreshes); the last report's exit code."""
    clear = out.isatty() if clear is None else clear
    code = report.EXIT_UNREACHABLE
    shown = 0
    try:
        while count is None or shown < count:
            started = time.monotonic()
            stamp = dt.datetime.now().astimezone().strftime("%H:%M:%S")
            try:
                docs, newest, lease, now = snapshot(client[db_name])
                r = report.build(docs, newest, now, stale_after)
                body = render(r, docs, lease)
                code = r.exit_code
            except Exception as exc:  # pymongo raises many kinds; all mean "cannot read now"
                first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
                body = f"cannot read from MongoDB: {type(exc).__name__}: {first}\n"
                code = report.EXIT_UNREACHABLE
            frame = f"nodered_status --watch  {stamp}  every {interval:g}s (Ctrl-C stops)\n\n{body}"
            out.write((CLEAR if clear else "" if shown == 0 else "\n") + frame)
            out.flush()
            shown += 1
            if count is not None and shown >= count:
                break
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        pass
    return code


def main(args) -> int:
    """--watch from the command line (args: mongo_url, db, stale_after, timeout, interval, count)."""
    import pymongo  # imported here so `--help` works without a driver

    ms = int(args.timeout * 1000)
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        args.mongo_url,
        serverSelectionTimeoutMS=ms,
        connectTimeoutMS=ms,
        socketTimeoutMS=ms,
        tz_aware=True,
        appname="nodered-status-watch",
    )
    try:
        return run(client, args.db, args.stale_after, args.interval, args.count)
    finally:
        client.close()
