"""`python -m nodered_status --watch`: the status report, refreshed, for operators to keep open during a
deploy. Each refresh shows every instance with how far behind it is (revisions, and seconds since
the newest revision was saved while it does not run it yet), the report's summary, and the leader
(the leader lease of database.json, or an instance record with `leader: true`) when the stack has one.

A database that stops answering is shown as such and watched on: the view comes back with it.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import TextIO

from . import exits, report
from .clock import format_age, utc
from .source import Snapshot, Source, Unreachable

CLEAR = "\x1b[H\x1b[2J"  # cursor home, clear screen


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
        expires = utc(lease.get("expiresAt"))
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


def render(snap: Snapshot, stale_after: float) -> tuple[str, int]:
    """One refresh: the view's text and the report's exit code."""
    r = report.build(snap.instances, snap.newest, snap.now, stale_after)
    leaders = {str(d.get("_id")) for d in snap.instances if d.get("leader") is True}
    if snap.lease and snap.lease.get("holder"):
        leaders.add(str(snap.lease["holder"]))
    rows = []
    for i in r.instances:
        # The editor's note only when stale: its failures are the workers' lines' business here.
        problem = report.note(r, i) if i.role == "worker" or r.is_stale(i) else ""
        notes = [n for n in (problem, "leader" if i.id in leaders else "") if n]
        rev = "-" if i.rev is None else str(i.rev)
        rows.append((i.id, i.role, rev, lag(r, i), i.state or "-", format_age(r.age(i)), ", ".join(notes)))
    lines = report.table(("INSTANCE", "ROLE", "REV", "LAG", "STATE", "LAST SEEN", "NOTE"), rows)
    if not rows:
        lines.append("(no instance records)")
    lines += ["", *report.summary(r)]
    line = leader_line(r, snap.lease, snap.instances)
    if line:
        lines.append(line)
    return "\n".join(lines) + "\n", r.exit_code


def run(
    source: Source,
    stale_after: float,
    interval: float,
    count: int | None = None,
    out: TextIO = sys.stdout,
    clear: bool | None = None,
) -> int:
    """Refresh every `interval` seconds until Ctrl-C (or `count` refreshes); the last report's exit code."""
    clear = out.isatty() if clear is None else clear
    code = exits.UNREACHABLE
    shown = 0
    try:
        while count is None or shown < count:
            started = time.monotonic()
            stamp = dt.datetime.now().astimezone().strftime("%H:%M:%S")
            try:
                body, code = render(source.snapshot("read from"), stale_after)
            except Unreachable as exc:
                body, code = exc.short + "\n", exits.UNREACHABLE
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
