"""`python -m nodered_status --url ...`: the arguments of the editor mode and what it does when the editor
cannot be used, without a stack (a closed port, a loopback server that answers no API). Where the
subcommand and the connection options may go. The editor mode against a real stack is
tests/e2e/test_status_over_https.py.

Guards: a status command that hung on a password prompt in a script, sent a password over plain http
to another machine, or printed a traceback for an editor that does not answer."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading

import pytest

from local_stack import free_port
from nodered_status.connection import check_url, split_subcommand


def cli(*args, password: str | None = "pw", env=None):
    e = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGO_DB", "NODE_RED_PASSWORD")}
    if password is not None:
        e["NODE_RED_PASSWORD"] = password
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "nodered_status", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=e,
        stdin=subprocess.DEVNULL,
    )


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_no_password_and_no_terminal_is_a_usage_error_not_a_hang():
    p = cli("--url", closed_url(), password=None)
    assert p.returncode == 2
    assert "no password for 'admin': set NODE_RED_PASSWORD, run in a terminal to be asked, or pass --token" in p.stderr


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://editor.example.com", "is not an http(s) URL with a host"),
        ("editor.example.com", "is not an http(s) URL with a host"),
        ("https://", "is not an http(s) URL with a host"),
        ("https://editor.example.com:99999", "is not a URL"),
        ("https://admin:pw@editor.example.com", "the user goes in --user"),
        ("https://editor.example.com/?x=1", "no user, query or fragment"),
        ("http://editor.example.com", "plain http would send the password and token unencrypted"),
        ("http://10.0.0.5:1880", "plain http would send the password and token unencrypted"),
    ],
)
def test_a_url_that_cannot_be_used_is_a_usage_error_before_any_request(url, why):
    p = cli("--url", url)
    assert p.returncode == 2 and why in p.stderr, p.stderr


def test_plain_http_is_for_this_machine_unless_allowed():
    for url in ("http://127.0.0.1:1880", "http://localhost:1880", "http://[::1]:1880", "https://editor.example.com"):
        assert check_url(url, allow_http=False) is None, url
    assert check_url("http://editor.internal", allow_http=True) is None
    assert "plain http" in (check_url("http://editor.internal", allow_http=False) or "")


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--url", "https://e.example.com", "--mongo-url", "mongodb://127.0.0.1"], "leave out --mongo-url and --db"),
        (["--url", "https://e.example.com", "--db", "nodered"], "leave out --mongo-url and --db"),
        (["--user", "ops", "--mongo-url", "mongodb://127.0.0.1"], "--user needs --url"),
        (["--token", "t", "--mongo-url", "mongodb://127.0.0.1"], "--token needs --url"),
        (["--url", "https://e.example.com", "--token", "t", "--user", "ops"], "leave out --user"),
        (["--url", "https://e.example.com", "--token", " "], "--token must not be empty"),
        (["rollback", "3", "--url", "https://e.example.com", "--by", "ops"], "saved by the logged-in user"),
        (["diff", "3", "--url", "https://e.example.com"], "give two revisions A B (or --dir DIR)"),
        (["diff", "0", "2", "--url", "https://e.example.com"], "A and B are revision numbers"),
        (
            ["diff", "1", "2", "--dir", "flows", "--url", "https://e.example.com"],
            "give two revisions A B, or --dir DIR: not both",
        ),
        (
            ["diff", "--dir", "flows", "--mongo-url", "mongodb://127.0.0.1"],
            "--dir compares with the stack through its editor",
        ),
        (
            ["export", "--out", "flows", "--mongo-url", "mongodb://127.0.0.1"],
            "export reads the flows through the stack's editor",
        ),
        (["export", "--url", "https://e.example.com"], "the following arguments are required: --out"),
        (["export", "--rev", "0", "--out", "flows", "--url", "https://e.example.com"], "--rev is a revision number"),
        (["deploy", "flows", "--mongo-url", "mongodb://127.0.0.1"], "deploy goes through the stack's editor"),
        (
            ["deploy", "flows", "--message", "two\nlines", "--url", "https://e.example.com"],
            "--message must be one line",
        ),
    ],
)
def test_conflicting_or_incomplete_arguments_are_usage_errors(args, why):
    p = cli(*args)
    assert p.returncode == 2 and why in p.stderr, p.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["history", "--url", "{url}"],
        ["--url", "{url}", "history"],
        ["--url={url}", "--user", "ops", "history", "--limit", "3"],
        ["--timeout", "2", "--url", "{url}", "diff", "1", "2"],
        ["--url", "{url}", "rollback", "1"],
        ["--url", "{url}", "--watch", "--count", "1"],
    ],
)
def test_an_editor_that_does_not_answer_is_exit_3_wherever_the_options_go(args):
    url = closed_url()
    p = cli(*[a.format(url=url) for a in args])
    assert p.returncode == 3, p.stdout + p.stderr
    if "--watch" in args:  # the view shows the short form, without the address
        assert "cannot log in to the editor: ConnectionError" in p.stdout
    else:
        assert f"error: cannot log in to the editor at {url}: ConnectionError" in p.stderr
    assert "Traceback" not in p.stderr


def test_the_subcommand_is_found_after_the_connection_options_only():
    names = {"history", "diff", "rollback"}
    assert split_subcommand(["--url", "history", "history"], names) == ("history", ["--url", "history"])
    assert split_subcommand(["--json", "history"], names) == (None, ["--json", "history"])
    assert split_subcommand(["--allow-http", "--token=t", "diff", "1", "2"], names) == (
        "diff",
        ["--allow-http", "--token=t", "1", "2"],
    )


class NotTheApi(http.server.BaseHTTPRequestHandler):
    """A server on the editor's address that is not the editor: HTML for everything."""

    def do_POST(self):  # noqa: N802 -- http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html><body>Welcome to the proxy</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_server_that_answers_no_api_is_exit_3_saying_what_came_back():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotTheApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        p = cli("--url", f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert p.returncode == 3
    assert "cannot log in to the editor at" in p.stderr and "HTTP 200: <html><body>Welcome to the proxy" in p.stderr


class RefusesEverything(NotTheApi):
    """An editor that logs in and then calls every request malformed, as the API does for `--limit 5000`."""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer(200, b'{"access_token": "t"}')

    def do_GET(self):  # noqa: N802
        self.answer(400, b'{"error": "limit must be a whole number from 1 to 1000", "requestId": "r"}')

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_request_the_editor_calls_malformed_is_a_usage_error_with_its_reason():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RefusesEverything)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        p = cli("history", "--limit", "5000", "--url", f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert p.returncode == 2
    assert "error: the editor refused the request: limit must be a whole number from 1 to 1000" in p.stderr


def test_a_directory_that_does_not_read_back_is_exit_6_before_any_request(tmp_path):
    """Nothing is sent for files that do not read back (the editor's port is closed: a request would be exit 3)."""
    p = cli("deploy", str(tmp_path / "nowhere"), "--url", closed_url())
    assert p.returncode == 6 and "no such directory; nothing sent" in p.stderr, p.stderr
    (tmp_path / "index.json").write_text("{")
    p = cli("diff", "--dir", str(tmp_path), "--url", closed_url())
    assert p.returncode == 6 and "index.json: not JSON" in p.stderr, p.stderr
