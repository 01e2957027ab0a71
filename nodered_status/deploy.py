"""`python -m nodered_status deploy DIR [--message TEXT]`: the flows of a directory (the layout of
flowfiles.py) as a new revision, through the stack's editor (docs/flows-as-code.md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import exits
from .diff import credentials_lacking, read_files, refused_in_files
from .rollback import add_wait, check_wait, follow

if TYPE_CHECKING:
    from .source import Source

DESCRIPTION = """\
Deploy the flows in DIR (as `export` wrote them) as a new revision, saved by the logged-in user, with the
checks of a deploy from the editor: files that do not read back, an id used twice, a wire to a node that
does not exist, a node type the image lacks are refused, naming the file and the node, and nothing is
saved. The stack keeps its own stored credentials for every node with the same id; an environment
reference in the index ("${NAME}") is written as it is; the nodes whose credentials the stack lacks are
listed (and shown in the editor's Cluster sidebar). When the newest revision holds these flows already,
nothing is saved. A stack whose flows come from a source (stack config flows.source) refuses: only
`pulumi up` deploys them. Through the editor only (--url).

exit codes:
  0  saved, or nothing to save (with --wait: and every live worker serves it)
  1  with --wait: not every live worker serves it within the time, or it failed on one (says why)
  2  bad arguments
  3  cannot reach the editor
  4  the stack's stored credentials cannot be read
  5  the editor refused the login, the user may not deploy (cluster.write), or the flows are locked
  6  the flows are refused, naming file and node; nothing saved
"""


def positionals(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, metavar="DIR", help="the directory `export` wrote")


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--message", default=None, metavar="TEXT", help="one line saved with the revision")
    add_wait(p)
    p.add_argument("--json", action="store_true", help="print the editor's answer as JSON")


def check(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    check_wait(p, args)
    if args.url is None:
        p.error("deploy goes through the stack's editor, which checks and saves the flows: pass --url")
    if args.message is not None and (not args.message.strip() or "\n" in args.message):
        p.error("--message must be one line of text")


def run(args: argparse.Namespace, source: Source) -> int:
    files = read_files(args.dir)
    body = files.body()
    if args.message is not None:
        body["message"] = args.message
    try:
        answer = source.files_deploy(body)
    except exits.FlowsRefused as exc:
        raise refused_in_files(exc, files) from None
    if not args.json:
        if answer["saved"]:
            print(f"saved as revision {answer['rev']} by {answer.get('savedBy') or '?'}: {answer['summary']}")
        else:
            print(f"nothing to deploy: revision {answer['rev']} holds these flows already")
        missing = credentials_lacking(answer.get("credentialsMissing") or [], files)
        sys.stdout.writelines(line + "\n" for line in missing)
    code, served = follow(source, int(answer["rev"]), args) if answer["saved"] else (exits.OK, {})
    if args.json:
        print(json.dumps({**answer, **served}, indent=2))
    return code
