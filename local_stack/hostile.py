"""Editor logins as an attacker sends them, shared by tests/hostile/test_login.py and
bench/hostile_mix.py: every shape of a login field that is no string, and the non-string username that
once fed Node-RED's own per-username lockout."""

from __future__ import annotations

import json

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}
LOGIN = {
    "client_id": "node-red-admin",
    "grant_type": "password",
    "scope": "*",
    "username": "admin",
    "password": "wrong",
}
# Six of these from one address locked `admin` out for everyone (Node-RED compares names with ==).
ARRAY_USERNAME = b"client_id=node-red-admin&grant_type=password&scope=*&username[]=admin&password=wrong"


def malformed_logins() -> list[tuple[str, dict[str, str], bytes]]:
    """(id, headers, body) for POST /auth/token: each form of a login field that is no string."""
    form = "client_id=node-red-admin&grant_type=password&scope=*"
    cases = [
        ("form password[]", FORM, f"{form}&username=admin&password[]=x".encode()),
        ("form username[]", FORM, ARRAY_USERNAME),
    ]
    for field in ("username", "password", "client_id", "grant_type", "scope"):
        for kind, value in (("object", {"a": 1}), ("number", 12345)):
            cases.append((f"json {field} {kind}", JSON, json.dumps({**LOGIN, field: value}).encode()))
    return cases
