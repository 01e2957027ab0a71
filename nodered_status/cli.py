"""The status command's one dispatcher: which command runs (the report, or a subcommand), its arguments,
the one source it talks to the deployment through (connection.py: the editor's cluster API with --url,
or MongoDB), and the one error path: a command's failure (exits.CommandError, Unreachable among them)
is printed as `error: ...` with its exit code.

A command is a module with DESCRIPTION, options(p), check(p, args), run(args, source) and, if it takes
any, positionals(p). The subcommand comes first; the connection options may come before or after it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from types import ModuleType

from . import audit, deploy, diff, exits, export, history, rollback, status
from .connection import add_connection_args, check_connection_args, open_source, split_subcommand


@dataclass(frozen=True)
class Command:
    module: ModuleType
    prog: str
    appname: str  # how the command names itself to MongoDB (its connections in the server's log)


REPORT = Command(status, "python -m nodered_status", "nodered-status")
SUBCOMMANDS = {
    "history": Command(history, "python -m nodered_status history", "nodered-status-history"),
    "rollback": Command(rollback, "python -m nodered_status rollback", "nodered-status-rollback"),
    "diff": Command(diff, "python -m nodered_status diff", "nodered-status-diff"),
    "export": Command(export, "python -m nodered_status export", "nodered-status-export"),
    "deploy": Command(deploy, "python -m nodered_status deploy", "nodered-status-deploy"),
    "audit": Command(audit, "python -m nodered_status audit", "nodered-status-audit"),
}


def parse(command: Command, argv: list[str]) -> argparse.Namespace:
    m = command.module
    p = argparse.ArgumentParser(
        prog=command.prog, description=m.DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if hasattr(m, "positionals"):
        m.positionals(p)
    add_connection_args(p)
    m.options(p)
    args = p.parse_args(argv)  # exits with 2 (exits.USAGE) on bad arguments
    check_connection_args(p, args)
    m.check(p, args)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    name, argv = split_subcommand(argv, SUBCOMMANDS)
    command = SUBCOMMANDS[name] if name else REPORT
    args = parse(command, argv)
    try:
        with open_source(args, command.appname) as source:
            return command.module.run(args, source)
    except exits.CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
