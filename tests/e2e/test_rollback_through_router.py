"""Recovering from a bad deploy as an operator does: `python -m nodered_status history` to find the last
good revision, `... rollback REV` to bring it back; every worker (and the editor) serves it, through the
router, credentials included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import requests

from local_stack.flows import credentials_flow, whoami_flow


def nodered_status(stack, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGO_DB")}
    env.update({"MONGO_URL": stack.mongo.url, "MONGO_DB": stack.db})
    p = subprocess.run(
        [sys.executable, "-m", "nodered_status", *args], capture_output=True, text=True, timeout=90, env=env
    )
    print(f"$ python -m nodered_status {' '.join(args)}  (exit {p.returncode})\n{p.stdout}{p.stderr}")
    return p


def flows(stack, marker, password):
    return whoami_flow(marker) + credentials_flow("api-user", password, http_node_root=stack.http_node_root)


def served(stack, n=9):
    """(markers, /secure answers) of n requests through the router: every worker answers 3 of them."""
    markers = {requests.get(stack.api_url + "/whoami", timeout=10).json()["marker"] for _ in range(n)}
    secure = {(r.status_code, r.text) for r in (requests.get(stack.api_url + "/secure", timeout=10) for _ in range(n))}
    return markers, secure


def test_history_then_rollback_brings_the_old_flows_and_credentials_back_everywhere(own_stack):
    stack = own_stack
    admin = stack.admin()
    good_marker, bad_marker = f"good-{uuid.uuid4().hex[:6]}", f"bad-{uuid.uuid4().hex[:6]}"
    good = stack.deploy(flows(stack, good_marker, "pw-good"), admin=admin)
    bad = stack.deploy(flows(stack, bad_marker, "pw-bad"), admin=admin)
    assert served(stack) == ({bad_marker}, {(200, "secret-ok")})
    stack.wait_recorded(bad)

    p = nodered_status(stack, "history")
    assert p.returncode == 0
    rows = {ln.split()[0]: ln for ln in p.stdout.splitlines()[1:]}
    assert "served by 3 workers and the editor" in rows[str(bad)]
    assert "tabs ~2, nodes ~3, credentials changed" in rows[str(bad)] and "admin" in rows[str(bad)]

    p = nodered_status(stack, "rollback", str(good), "--by", "oncall", "--wait", "60")
    assert p.returncode == 0, p.stdout + p.stderr
    new = bad + 1
    assert p.stdout.splitlines() == [
        f"rolled back: revision {new} saved with the flows and credentials of revision {good} (by oncall)",
        f"every live worker serves revision {new}",
    ]
    # Every worker serves the old flows with their own credentials, through the router.
    assert served(stack) == ({good_marker}, {(200, "secret-ok")})
    for w in stack.workers:
        assert w.healthz()["rev"] == new
    # The editor follows too: what it shows (and would deploy next) is the rolled-back flows.
    stack.editor.wait_ready(rev=new)
    shown = admin.get_flows()["flows"]
    assert any(n.get("func", "").find(good_marker) >= 0 for n in shown)

    hist = json.loads(nodered_status(stack, "history", "--json").stdout)["revisions"]
    assert (hist[0]["rev"], hist[0]["deployType"], hist[0]["rollbackOf"], hist[0]["savedBy"]) == (
        new,
        "rollback",
        good,
        "oncall",
    )
    p = nodered_status(stack)
    assert p.returncode == 0 and f"IN SYNC: all 3 workers run revision {new}" in p.stdout
    assert (
        f"newest revision: {new}, saved just now by oncall" in p.stdout or f"newest revision: {new}, saved" in p.stdout
    )

    # Deploying from the editor after the rollback goes on from there.
    after = stack.deploy(flows(stack, "after", "pw-after"), admin=admin)
    assert after == new + 1
    assert served(stack) == ({"after"}, {(200, "secret-ok")})
