"""`python -m nodered_status export [--rev N] --out DIR`: a revision's flows as a directory made for review
(the layout of flowfiles.py, docs/flows-as-code.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from . import exits, flowfiles

if TYPE_CHECKING:
    from .source import Source

DESCRIPTION = """\
Write the flows of revision N (default: the newest) into DIR, for a repository and its pull requests:
one file per tab and per subflow (tabs/, subflows/, named after the label and id), the config nodes in
config-nodes.json, and index.json with the order of every node and which nodes have credentials. No
credential value is written: a property is "stored" (each stack keeps its own) or, when it is an
environment reference, "${NAME}". The same flows always give the same bytes; files of tabs and subflows
DIR holds from before that the flows no longer have are removed, other files are left alone.
Through the editor only (--url).

exit codes:
  0  written
  2  bad arguments
  3  cannot reach the editor
  4  no revision N is kept, or it cannot be loaded (or its credentials cannot be read)
  5  the editor refused the login
"""


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rev", type=int, default=None, metavar="N", help="the revision (default: the newest)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="the directory to write")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.url is None:
        p.error(
            "export reads the flows through the stack's editor, which knows which nodes have credentials: pass --url"
        )
    if args.rev is not None and args.rev < 1:
        p.error("--rev is a revision number (a whole number from 1)")
    if args.out.exists() and not args.out.is_dir():
        p.error(f"--out {args.out}: not a directory")


def run(args: argparse.Namespace, source: Source) -> int:
    rev = args.rev
    if rev is None:
        newest = source.snapshot("read from").newest
        if newest is None:
            raise exits.NoSuchRevision("no revision to export: the stack has none saved yet")
        rev = int(newest["_id"])
    answer = source.revision(rev)
    if answer.get("credentialsProblem"):
        raise exits.NoSuchRevision(
            f"revision {rev}: {answer['credentialsProblem']} (the index would not say which nodes need credentials)"
        )
    flows, credentials = answer["flows"], answer.get("credentials") or {}
    files = flowfiles.write(args.out, flows, credentials)
    count = {kind: sum(1 for n in flows if n.get("type") == kind) for kind in ("tab", "subflow")}
    out = {
        "rev": rev,
        "savedBy": answer.get("savedBy"),
        "dir": str(args.out),
        "files": sorted(files),
        "nodes": len(flows),
        "credentialNodes": list(credentials),
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"revision {rev} (saved by {answer.get('savedBy') or '?'}) written to {args.out}: "
            f"{count['tab']} tab(s), {count['subflow']} subflow(s), {len(flows)} nodes in {len(files)} files; "
            f"{len(credentials)} node(s) with credentials, listed in {flowfiles.INDEX} (no values)"
        )
    return exits.OK
