"""Times as the status command reads and shows them: the database's dates as UTC, ages in words."""

from __future__ import annotations

import datetime as dt
from typing import Any


def utc(value: Any) -> dt.datetime | None:
    """A date from the database as an aware UTC datetime (the driver may give naive ones); None if no date."""
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    if seconds < 1:
        return "just now"
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f}h ago"
    return f"{seconds / 86400:.0f}d ago"


def iso(value: Any) -> str | None:
    """A date as the editor's API writes it (JavaScript's toISOString: UTC, milliseconds, "Z"); None if none."""
    t = utc(value)
    if t is None:
        return None
    t = t.astimezone(dt.UTC)
    return f"{t.strftime('%Y-%m-%dT%H:%M:%S')}.{t.microsecond // 1000:03d}Z"


def parse_iso(value: Any) -> dt.datetime | None:
    """A date the editor's API wrote (or None), as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
