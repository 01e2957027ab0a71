"""How a command reaches the deployment: its editor's cluster API (`--url`, with `--user` and a password,
or `--token`), or its MongoDB (`--mongo-url`, for when the editor itself is down). The arguments, their
checks, and the one source they give (source.py MongoSource, http_source.py HttpSource)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from urllib.parse import urlsplit

import nodered_contract
from nodered_contract import database as layout

from .http_source import HttpSource
from .source import MongoSource, Source

# Options that take a value and may come before the subcommand (cli.py looks past them for it).
VALUED = ("--mongo-url", "--db", "--timeout", "--url", "--user", "--token")
FLAGS = ("--allow-http",)
PASSWORD_VARIABLE = "NODE_RED_PASSWORD"


def add_connection_args(p: argparse.ArgumentParser) -> None:
    editor = p.add_argument_group("the editor's cluster API (HTTPS)")
    editor.add_argument("--url", metavar="URL", help="the editor's URL, e.g. https://editor.example.com")
    editor.add_argument(
        "--user",
        metavar="NAME",
        default=None,
        help=f"editor user to log in as (default: {nodered_contract.EDITOR_USER!r}); the password from "
        f"${PASSWORD_VARIABLE}, else asked for",
    )
    editor.add_argument("--token", metavar="TOKEN", help="an access token of the editor, instead of --user")
    editor.add_argument(
        "--allow-http", action="store_true", help="allow a plain http:// URL to a host that is not this machine"
    )
    mongo = p.add_argument_group("the deployment's MongoDB (when the editor is down)")
    mongo.add_argument("--mongo-url", default=None, help="MongoDB connection string (default: $MONGO_URL)")
    mongo.add_argument("--db", default=None, help=f"database name (default: $MONGO_DB or {layout.DATABASE!r})")
    p.add_argument(
        "--timeout", type=float, default=5.0, metavar="SECONDS", help="give up connecting after this long (default: 5)"
    )


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_http: bool) -> str | None:
    """Why this editor URL cannot be used, or None. Plain http only to this machine, or when allowed."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is no number
    except ValueError as exc:
        return f"--url {url!r} is not a URL ({exc})"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"--url {url!r} is not an http(s) URL with a host, e.g. https://editor.example.com"
    if parts.query or parts.fragment or parts.username or parts.password:
        return "--url takes the editor's address only (no user, query or fragment); the user goes in --user"
    if parts.scheme == "http" and not _loopback(parts.hostname) and not allow_http:
        return (
            f"--url {url!r}: plain http would send the password and token unencrypted; use https, "
            "or pass --allow-http (a network you trust)"
        )
    return None


def check_connection_args(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.timeout <= 0:
        p.error("--timeout must be positive")
    if args.url is None:
        for name in ("user", "token"):
            if getattr(args, name) is not None:
                p.error(f"--{name} needs --url (the editor's address)")
        args.mongo_url = args.mongo_url or os.environ.get("MONGO_URL")
        args.db = args.db or os.environ.get("MONGO_DB") or layout.DATABASE
        if not args.mongo_url:
            p.error("no editor URL or MongoDB URL: pass --url (the editor) or --mongo-url (or set MONGO_URL)")
        return
    if args.mongo_url is not None or args.db is not None:
        p.error("--url reads the deployment through its editor: leave out --mongo-url and --db")
    why = check_url(args.url, args.allow_http)
    if why:
        p.error(why)
    if args.token is not None:
        if args.user is not None:
            p.error("--token is a login already: leave out --user")
        if not args.token.strip():
            p.error("--token must not be empty")
        return
    args.user = args.user if args.user is not None else nodered_contract.EDITOR_USER
    if not args.user:
        p.error("--user must not be empty")
    if not os.environ.get(PASSWORD_VARIABLE) and not sys.stdin.isatty():
        p.error(
            f"no password for {args.user!r}: set {PASSWORD_VARIABLE}, run in a terminal to be asked, or pass --token"
        )


def open_source(args: argparse.Namespace, appname: str) -> Source:
    if args.url is not None:
        return HttpSource(args.url, args.timeout, user=args.user, token=args.token, password_variable=PASSWORD_VARIABLE)
    return MongoSource(args.mongo_url, args.db, args.timeout, appname)


def split_subcommand(argv: list[str], names) -> tuple[str | None, list[str]]:
    """The subcommand (the first word after any connection options) and the arguments without it."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in VALUED:
            i += 2
        elif a in FLAGS or any(a.startswith(f"{o}=") for o in VALUED):
            i += 1
        else:
            break
    if i < len(argv) and argv[i] in names:
        return argv[i], argv[:i] + argv[i + 1 :]
    return None, argv
