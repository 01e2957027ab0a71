"""Logins to the editor through the router, from an attacker's address and the admin's.

Guards: after 5 failed logins for a username within 10 minutes, from anyone, Node-RED refused even the
right password ("Too many login attempts"): anyone could lock the admin out. Now failures count per
client address as the router sees it, so an attacker locks out only itself. A login field that is no
string (a form's `password[]=x`, a JSON object or number) ended the editor process, and a non-string
username (`username[]=admin`) still fed Node-RED's own per-username count: both are refused with 400
and counted against the sender's address."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests

from local_stack.admin import AdminClient
from local_stack.hostile import ARRAY_USERNAME, FORM, LOGIN, malformed_logins
from local_stack.nodered import DEFAULT_EDITOR_PASSWORD
from local_stack.raw_client import send


def login(port: int, source: str, password: str, headers: dict | None = None):
    body = urlencode({**LOGIN, "password": password}).encode()
    return send(port, "POST", "/auth/token", {**FORM, **(headers or {})}, body, source=source)


def test_failed_logins_lock_out_only_the_address_that_made_them(stack):
    attacker, admin = "127.0.0.31", "127.0.0.32"
    replies = [login(stack.router.port, attacker, f"guess-{i}") for i in range(8)]
    assert [r.status for r in replies] == [403] * 5 + [429] * 3
    assert replies[0].json()["error"] == "invalid_grant"
    locked = replies[-1]
    assert "too many failed logins from this address" in locked.json()["error"]
    assert 500 < int(locked.headers["retry-after"]) <= 600

    # The attacker's address stays locked, even with the right password ...
    assert login(stack.router.port, attacker, DEFAULT_EDITOR_PASSWORD).status == 429
    # ... while the admin, from another address, logs in at once.
    ok = login(stack.router.port, admin, DEFAULT_EDITOR_PASSWORD)
    assert ok.status == 200, ok.text
    assert ok.json()["access_token"]
    # And again: Node-RED's own per-username count never saw the attacker's guesses.
    assert login(stack.router.port, admin, DEFAULT_EDITOR_PASSWORD).status == 200

    assert stack.editor is not None
    # Refusal lines (the audit trail logs its records besides: docs/editor-access.md).
    lines = [line for line in stack.editor.log_text().splitlines() if attacker in line and "audit:" not in line]
    assert sum('failed login for "admin"' in line for line in lines) == 5
    assert sum("refused 429" in line for line in lines) == 4
    assert all("(request " in line for line in lines)


def test_a_forwarded_for_header_is_trusted_only_from_the_router(stack):
    """Straight to the editor, X-Forwarded-For is the client's own claim: its failures count against its
    own address, never against the address it names."""
    assert stack.editor is not None
    direct, named = "127.0.0.33", "127.0.0.34"
    spoofed = {"X-Forwarded-For": named}
    assert [login(stack.editor.port, direct, "bad", spoofed).status for _ in range(6)] == [403] * 5 + [429]
    assert login(stack.editor.port, direct, DEFAULT_EDITOR_PASSWORD, spoofed).status == 429
    assert login(stack.router.port, named, DEFAULT_EDITOR_PASSWORD).status == 200


def test_a_login_flood_gets_429_from_the_router_before_the_editor_works_on_it(stack):
    """Each login costs the editor a bcrypt comparison: a flood from one address is cut at the router."""
    flooder = "127.0.0.35"
    replies = [login(stack.router.port, flooder, "bad") for _ in range(60)]
    statuses = [r.status for r in replies]
    assert statuses.count(429) >= 30, {s: statuses.count(s) for s in set(statuses)}
    by_router = [r for r in replies if r.status == 429 and r.json()["error"].startswith("too many requests")]
    assert by_router, "some were refused by the router's per-client limit"
    entries = stack.router.access_log(
        until=lambda es: sum(e["remote_addr"] == flooder and e["limit_req"] == "REJECTED" for e in es) >= len(by_router)
    )
    rejected = [e for e in entries if e["remote_addr"] == flooder and e["limit_req"] == "REJECTED"]
    assert len(rejected) == len(by_router)
    assert all(e["status"] == "429" and e["upstream_addr"] == "" for e in rejected)
    # The admin logs in meanwhile.
    assert login(stack.router.port, "127.0.0.36", DEFAULT_EDITOR_PASSWORD).status == 200


@pytest.mark.parametrize(
    ("headers", "body", "source"),
    [pytest.param(h, b, f"127.0.3.{i + 1}", id=name) for i, (name, h, b) in enumerate(malformed_logins())],
)
def test_a_login_field_that_is_no_string_gets_400_and_the_editor_stays_up(stack, headers, body, source):
    """One such request made Node-RED's user lookup throw where nothing caught it: the editor exited."""
    assert stack.editor is not None
    reply = send(stack.router.port, "POST", "/auth/token", headers, body, source=source)
    assert reply.status == 400, reply.text
    assert reply.json()["error"].startswith("login field ")
    assert "failed login 1 of 5" in reply.json()["error"]
    assert stack.editor.running()
    live = requests.get(stack.editor.url + "/livez", timeout=5)
    assert live.status_code == 200 and live.json()["live"] is True
    assert login(stack.router.port, "127.0.3.100", DEFAULT_EDITOR_PASSWORD).status == 200
    lines = [line for line in stack.editor.log_text().splitlines() if f"from {source} " in line]
    assert len(lines) == 1 and "refused 400 POST /auth/token" in lines[0], lines


def test_non_string_usernames_cannot_lock_the_admin_out(stack):
    """Node-RED compares usernames with ==: six `username[]=admin` logins with a wrong password locked
    `admin` out for every address ("Too many login attempts", 500), while the launcher logged nothing."""
    attacker = "127.0.0.43"
    replies = [send(stack.router.port, "POST", "/auth/token", FORM, ARRAY_USERNAME, source=attacker) for _ in range(6)]
    for admin in ("127.0.0.44", "127.0.0.45"):
        ok = login(stack.router.port, admin, DEFAULT_EDITOR_PASSWORD)
        assert ok.status == 200, ok.text
        assert ok.json()["access_token"]
    # Refused by the launcher and counted against the attacker's address alone.
    assert [r.status for r in replies] == [400] * 5 + [429]
    assert stack.editor is not None
    lines = [line for line in stack.editor.log_text().splitlines() if f"from {attacker} " in line]
    assert sum("refused 400 POST /auth/token" in line and 'login field "username"' in line for line in lines) == 5


def test_a_client_over_the_login_rate_waits_as_told_and_gets_in(stack):
    """The router allows an address a burst of 20 logins, then 2 a second, and says `Retry-After: 1` to
    the rest. AdminClient (the tooling of `make up`, the tests and the benchmarks) raised at the first
    429: a fresh clone's `make test` failed so in tests/e2e/test_cluster_api.py, whose stack had seen
    many logins from the same address. It now waits as told."""
    source = "127.0.0.1"  # AdminClient's own address
    replies = []
    while len(replies) < 100 and (not replies or replies[-1].status != 429):
        replies.append(login(stack.router.port, source, DEFAULT_EDITOR_PASSWORD))
    refused = replies[-1]
    assert refused.status == 429, [r.status for r in replies]
    assert refused.headers["retry-after"] == "1"

    client = AdminClient(stack.url, stack.editor_user, stack.editor_password)
    assert client.login()
    assert client.session.get(stack.url + "/flows", headers=client.headers(), timeout=10).status_code == 200
