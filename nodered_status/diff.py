"""`python -m nodered_status diff A B`: what changed from revision A to revision B."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from . import exits
from .clock import parse_iso
from .revisions import KINDS, describe_id, summary

if TYPE_CHECKING:
    from .source import Source

DESCRIPTION = """\
Show what changed from revision A to revision B (any two kept revisions, in either order): tabs,
subflows and nodes added (+), removed (-) and changed (~), for each changed one the properties that
differ (names only, never values), and whether the credentials changed (they are stored encrypted as
one: never which or how).

exit codes:
  0  shown
  2  bad arguments
  3  cannot reach the editor, or MongoDB
  4  A or B is not kept, or cannot be loaded
  5  the editor refused the login
"""

SINGULAR = {"tabs": "tab", "subflows": "subflow", "nodes": "node"}


def positionals(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", type=int, metavar="A", help="the revision to compare from")
    p.add_argument("b", type=int, metavar="B", help="the revision to compare to")


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.a < 1 or args.b < 1:
        p.error("A and B are revision numbers (whole numbers from 1)")


def _revision(about: dict) -> str:
    at = parse_iso(about.get("savedAt"))
    parts = [f"saved {at.strftime('%Y-%m-%d %H:%M:%SZ')}" if at else None]
    parts.append(f"by {about['savedBy']}" if about.get("savedBy") else None)
    kind = about.get("deployType")
    if kind and about.get("rollbackOf") is not None:
        kind = f"{kind} of {describe_id(about['rollbackOf'])}"
    parts.append(kind)
    return f"revision {describe_id(about['rev'])} ({', '.join(p for p in parts if p)})"


def _line(sign: str, kind: str, item: dict[str, Any]) -> str:
    name = f' "{item["name"]}"' if item.get("name") else ""
    what = f"{SINGULAR[kind]} {item['id']}" if kind != "nodes" else f"{item['type']} {item['id']}"
    where = f" on {item['z']}" if item.get("z") else ""
    line = f"  {sign} {what}{name}{where}"
    if sign == "~":
        props = item.get("properties") or []
        line += f": {', '.join(props)}" if props else " (nodes on it)"
    return line


def render_text(d: dict) -> str:
    lines = [f"from {_revision(d['from'])}", f"  to {_revision(d['to'])}", "", summary(d)]
    for kind in KINDS:
        for sign, key in (("+", "added"), ("-", "removed"), ("~", "changed")):
            lines += [_line(sign, kind, item) for item in d[kind][key]]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, source: Source) -> int:
    d = source.diff(args.a, args.b)
    if args.json:
        print(json.dumps(d, indent=2))
    else:
        sys.stdout.write(render_text(d))
    return exits.OK
