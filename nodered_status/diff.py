"""`python -m nodered_status diff A B`: what changed from revision A to revision B; `diff --dir DIR`: what
deploying the flows of DIR (the layout of flowfiles.py) would change on the stack's newest revision."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import exits, flowfiles
from .clock import parse_iso
from .revisions import KINDS, describe_id, summary

if TYPE_CHECKING:
    from .source import Source

DESCRIPTION = """\
Show what changed from revision A to revision B (any two kept revisions, in either order): tabs,
subflows and nodes added (+), removed (-) and changed (~), for each changed one the properties that
differ (names only, never values), and whether the credentials changed (they are stored encrypted as
one: never which or how).

With --dir DIR (and --url) instead of A B: what deploying the flows in DIR (as `export` writes them)
would change on the stack's newest revision, each node with its file, the editor's checks of a deploy
included (unknown node types, wires to nodes that do not exist, ...), and the nodes whose credentials
the stack lacks. Nothing is saved.

exit codes:
  0  shown (--dir: the stack runs exactly these flows)
  1  --dir: deploying DIR would change the stack's flows
  2  bad arguments
  3  cannot reach the editor, or MongoDB
  4  A or B is not kept, or cannot be loaded
  5  the editor refused the login
  6  --dir: the flows in DIR are refused (the files, or the editor's checks), naming file and node
"""

SINGULAR = {"tabs": "tab", "subflows": "subflow", "nodes": "node"}


def positionals(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", type=int, nargs="?", metavar="A", help="the revision to compare from")
    p.add_argument("b", type=int, nargs="?", metavar="B", help="the revision to compare to")


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", type=Path, metavar="DIR", help="compare the flows in DIR with the newest revision")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.dir is not None:
        if args.a is not None or args.b is not None:
            p.error("give two revisions A B, or --dir DIR: not both")
        if args.url is None:
            p.error("--dir compares with the stack through its editor, which checks the flows: pass --url")
        return
    if args.a is None or args.b is None:
        p.error("give two revisions A B (or --dir DIR)")
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


def read_files(directory: Path) -> flowfiles.FlowFiles:
    """The flows of a directory, or exit 6 saying why not."""
    try:
        return flowfiles.read(directory)
    except flowfiles.FilesRefused as exc:
        raise exits.FlowsRefused(f"{directory}: {exc}; nothing sent") from None


def refused_in_files(exc: exits.FlowsRefused, files: flowfiles.FlowFiles) -> exits.FlowsRefused:
    """The editor's refusal with the file of every node it names."""
    where = "".join(f"\n  {files.where(n)}" for n in exc.nodes)
    return exits.FlowsRefused(f"{exc}{where}", exc.nodes)


def render_files(d: dict, files: flowfiles.FlowFiles, directory: Path) -> str:
    """What deploying files changes (the cluster API's answer), each node present with its file."""
    older = d.get("from")
    head = f"from revision {describe_id(older['rev'])} (the newest)" if older else "from no revision (none saved)"
    lines = [head, f"  to {directory} (the files)", "", d["summary"]]
    for kind in KINDS:
        for sign, key in (("+", "added"), ("-", "removed"), ("~", "changed")):
            for item in d[kind][key]:
                place = f"   [{files.origin[item['id']]}]" if item["id"] in files.origin else ""
                lines.append(_line(sign, kind, item) + place)
    lines += credentials_lacking(d.get("credentialsMissing") or [], files)
    return "\n".join(lines) + "\n"


def credentials_lacking(missing: list[dict], files: flowfiles.FlowFiles) -> list[str]:
    if not missing:
        return []
    lines = ["", "credentials this stack lacks (set them in its editor, or make them ${NAME} references):"]
    for n in missing:
        name = f' "{n["name"]}"' if n.get("name") else ""
        lines.append(
            f"  {n['type']} {n['id']}{name}: {', '.join(n['properties'])}   [{files.origin.get(n['id'], '?')}]"
        )
    return lines


def _files_diff(args: argparse.Namespace, source: Source) -> int:
    files = read_files(args.dir)
    try:
        d = source.files_diff(files.body())
    except exits.FlowsRefused as exc:
        raise refused_in_files(exc, files) from None
    if args.json:
        print(json.dumps(d, indent=2))
    else:
        sys.stdout.write(render_files(d, files, args.dir))
    return exits.OK if d["same"] else exits.NOT_IN_SYNC


def run(args: argparse.Namespace, source: Source) -> int:
    if args.dir is not None:
        return _files_diff(args, source)
    d = source.diff(args.a, args.b)
    if args.json:
        print(json.dumps(d, indent=2))
    else:
        sys.stdout.write(render_text(d))
    return exits.OK
