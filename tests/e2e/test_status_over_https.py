"""The status command against the editor (`--url`, through the router, as it reaches a deployment whose
MongoDB is private) and against its MongoDB (`--mongo-url`): the same report and the same exit code for a
stack in sync, one whose newest revision failed on every worker, and one with a worker behind; the same
history and diff; a rollback through the editor that every worker then serves; and a refused login.

Guards: the tools that matter most when a deploy goes wrong (status, --watch, history, rollback) did not
reach production: they needed a MongoDB URL, and DocumentDB sits in private subnets."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid

from local_stack.admin import AdminClient
from local_stack.flows import marker_flow, whoami_flow

MISSING = "node-red-contrib-not-in-this-image"
# What differs between two reads a moment apart: ages, the --watch clock, the lease's remaining time.
MOMENTS = re.compile(r"\b(\d+[smhd] ago|just now|\d\d:\d\d:\d\d|expires in \d+s)")


def cli(stack, *args, url: bool, password: str | None = None, timeout: float = 90):
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGO_DB", "NODE_RED_PASSWORD")}
    if url:
        env["NODE_RED_PASSWORD"] = password or stack.editor_password
        args = (*args, "--url", stack.url)
    else:
        env.update({"MONGO_URL": stack.mongo.url, "MONGO_DB": stack.db})
    p = subprocess.run(
        [sys.executable, "-m", "nodered_status", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    print(f"$ nodered_status {' '.join(args)}  (exit {p.returncode})\n{p.stdout}{p.stderr}")
    return p


def normalized(text: str) -> list[str]:
    """The text without what differs between two reads a moment apart, and the columns' padding."""
    return [re.sub(r"\s+", " ", MOMENTS.sub("~", line)).strip() for line in text.splitlines()]


def without_times(report: dict) -> dict:
    for i in report.get("instances", []):
        del i["lastSeen"], i["lastSeenAgeSeconds"]
    return report


def same_both_ways(stack, *args) -> tuple[int, str]:
    """Runs the command with --url and with --mongo-url: the same report (as text and JSON) and exit code."""
    via_editor, via_mongo = cli(stack, *args, url=True), cli(stack, *args, url=False)
    assert via_editor.returncode == via_mongo.returncode, (via_editor.stderr, via_mongo.stderr)
    assert normalized(via_editor.stdout) == normalized(via_mongo.stdout)
    if "--watch" not in args:
        j_editor, j_mongo = cli(stack, *args, "--json", url=True), cli(stack, *args, "--json", url=False)
        assert without_times(json.loads(j_editor.stdout)) == without_times(json.loads(j_mongo.stdout))
    return via_editor.returncode, via_editor.stdout


def wait_report(stack, needle: str, *args: str, timeout: float = 20.0) -> None:
    """Until the MongoDB mode's output says `needle`: the instances write their records shortly after
    their /healthz changes, and both modes must read the same records."""
    deadline = time.monotonic() + timeout
    while needle not in (p := cli(stack, *args, url=False)).stdout:
        assert time.monotonic() < deadline, f"no {needle!r} in the report:\n{p.stdout}"
        time.sleep(0.3)


def test_in_sync_the_same_report_and_exit_code_through_the_editor(own_stack):
    stack = own_stack
    rev = stack.deploy(whoami_flow(uuid.uuid4().hex[:8]))
    stack.editor.wait_ready(rev=rev)
    wait_report(stack, f"IN SYNC: all 3 workers run revision {rev}")
    code, text = same_both_ways(stack)
    assert code == 0 and f"IN SYNC: all 3 workers run revision {rev}" in text
    code, text = same_both_ways(stack, "--watch", "--count", "1")
    assert code == 0 and "LAG" in text and f"IN SYNC: all 3 workers run revision {rev}" in text


def test_a_failed_revision_the_same_report_and_exit_code_through_the_editor(own_stack):
    stack = own_stack
    good = stack.deploy(whoami_flow("good"))
    bad = stack.insert_revision(whoami_flow("bad") + [{"id": "x1", "type": MISSING, "z": "tab-whoami", "wires": []}])
    wait_report(stack, "failed on 3 workers and the editor", "history", "--limit", "1")
    code, text = same_both_ways(stack)
    assert code == 1
    assert f"revision {bad} failed on 3 of 3 workers: missing node types: {MISSING}; they serve revision {good}" in text
    code, text = same_both_ways(stack, "history", "--limit", "3")
    assert code == 0 and "failed on 3 workers and the editor: missing node types" in text
    code, text = same_both_ways(stack, "diff", str(good), str(bad))
    assert code == 0 and f"+ {MISSING} x1 on tab-whoami" in text and "~ function whoami-fn on tab-whoami: func" in text


def test_a_worker_behind_the_same_report_and_exit_code_through_the_editor(own_stack):
    stack = own_stack
    first = stack.deploy(whoami_flow(uuid.uuid4().hex[:8]))
    # Paused only once its status record says so too (it is written just after /healthz turns ready): a
    # record from before would still show an earlier test's failed revision instead of "behind".
    wait_report(stack, f"IN SYNC: all 3 workers run revision {first}")
    frozen = stack.workers[0]
    frozen.pause()
    try:
        rev = stack.admin().deploy(whoami_flow(uuid.uuid4().hex[:8]))
        stack.wait_workers(rev, workers=stack.workers[1:])
        stack.editor.wait_ready(rev=rev)
        wait_report(stack, f"NOT IN SYNC: 2 of 3 workers run revision {rev}", "--stale-after", "300")
        code, text = same_both_ways(stack, "--stale-after", "300")
        assert code == 1 and f"NOT IN SYNC: 2 of 3 workers run revision {rev}" in text
        line = next(ln for ln in text.splitlines() if ln.startswith(frozen.instance_id + " "))
        assert line.endswith("behind"), line
    finally:
        frozen.resume()
    stack.wait_workers(rev)


def test_rollback_through_the_editor_is_saved_by_the_logged_in_user_and_every_worker_serves_it(own_stack):
    stack = own_stack
    good = stack.deploy(marker_flow("good"))
    stack.deploy(marker_flow("bad"))
    p = cli(stack, "rollback", str(good), "--wait", "60", url=True)
    assert p.returncode == 0, p.stderr
    new = int(p.stdout.split()[3])
    assert p.stdout.splitlines() == [
        f"rolled back: revision {new} saved with the flows and credentials of revision {good} (by {stack.editor_user})",
        f"every live worker serves revision {new}",
    ]
    for w in stack.workers:
        assert w.healthz()["rev"] == new
    wait_report(stack, "served by 3 workers and the editor", "history", "--limit", "1")
    code, text = same_both_ways(stack, "history", "--limit", "2")
    assert f"rollback of {good}" in text.splitlines()[1]


def test_a_refused_login_or_permission_is_exit_5_with_a_clear_error(own_stack):
    stack = own_stack
    p = cli(stack, url=True, password="not-the-password")
    assert p.returncode == 5
    assert p.stderr.strip() == (
        f"error: the editor at {stack.url} refused the login of {stack.editor_user!r}: wrong user name or password"
    )
    p = cli(stack, "--token", "not-a-token", url=True)
    assert p.returncode == 5 and "the token is not (or no longer) valid: log in again" in p.stderr

    reader = AdminClient(stack.url, stack.editor_user, stack.editor_password, scope="read").login()
    rev = stack.deploy(whoami_flow(uuid.uuid4().hex[:8]))
    stack.wait_recorded(rev)
    assert cli(stack, "--token", reader, url=True).returncode == 0
    p = cli(stack, "rollback", str(rev), "--token", reader, url=True)
    assert p.returncode == 5 and "the cluster.write permission is needed" in p.stderr
    p = cli(stack, "rollback", "999999", url=True)
    assert p.returncode == 4 and "no revision 999999 in the flows collection" in p.stderr
