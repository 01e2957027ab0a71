"""Connecting to the deployment's MongoDB, shared by the status command's subcommands."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Any

from nodered_contract import DATABASE

EXIT_USAGE = 2  # bad arguments (argparse uses 2 too)
EXIT_UNREACHABLE = 3  # cannot connect to / read from MongoDB


def redact(url: str) -> str:
    """The URL without its password, for error messages."""
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def add_connection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mongo-url", default=os.environ.get("MONGO_URL"), help="MongoDB connection string (default: $MONGO_URL)"
    )
    p.add_argument(
        "--db",
        default=os.environ.get("MONGO_DB") or DATABASE,
        help=f"database name (default: $MONGO_DB or {DATABASE!r})",
    )
    p.add_argument(
        "--timeout", type=float, default=5.0, metavar="SECONDS", help="give up connecting after this long (default: 5)"
    )


def check_connection_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not args.mongo_url:
        p.error("no MongoDB URL: pass --mongo-url or set MONGO_URL")
    if args.timeout <= 0:
        p.error("--timeout must be positive")


def client(url: str, timeout: float, appname: str):
    import pymongo  # imported here so `--help` works without a driver

    ms = int(timeout * 1000)
    c: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        url, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms, tz_aware=True, appname=appname
    )
    return c


def unreachable(url: str, db: str, exc: BaseException, what: str = "read from") -> int:
    """Prints why MongoDB could not be used (password masked); returns EXIT_UNREACHABLE."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    first = re.split(r" \(configured timeouts|, Timeout: ", first)[0]
    print(
        f"error: cannot {what} MongoDB at {redact(url)} (db {db!r}): {type(exc).__name__}: {first[:300]}",
        file=sys.stderr,
    )
    return EXIT_UNREACHABLE
