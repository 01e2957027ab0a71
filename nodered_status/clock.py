"""Times as the status command reads and shows them: the database's dates as UTC, ages in words."""

from __future__ import annotations

import datetime as dt
import re
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


_AGE = re.compile(r"([1-9][0-9]{0,5})([smhd])")
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SINCE_RULE = "a time with its zone (2026-12-01T00:00Z), a date (2026-12-01, UTC) or an age (30m, 24h, 7d)"


def parse_since(text: str, now: dt.datetime) -> dt.datetime | None:
    """`--since`'s value as an aware UTC datetime (an age counts back from `now`), or None when it is none of
    SINCE_RULE. The editor's GET /cluster/audit reads `since` by the same rule."""
    age = _AGE.fullmatch(text)
    if age:
        return now - dt.timedelta(seconds=int(age.group(1)) * _UNIT_SECONDS[age.group(2)])
    time = _TIME.fullmatch(text)
    if not time:
        return None
    try:
        if time.group(2) is None:
            return dt.datetime.fromisoformat(time.group(1)).replace(tzinfo=dt.UTC)
        return utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None
