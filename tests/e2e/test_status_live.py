"""The status command against a running deployment's database (records written by the instances)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

from local_stack.flows import whoami_flow


def status(stack, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGO_DB")}
    env.update({"MONGO_URL": stack.mongo.url, "MONGO_DB": stack.db})
    return subprocess.run(
        [sys.executable, "-m", "nodered_status", *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_status_lists_the_live_instances_and_says_in_sync(own_stack):
    stack = own_stack
    rev = stack.deploy(whoami_flow(uuid.uuid4().hex))
    stack.wait_recorded(rev)
    p = status(stack, "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert out["newestRev"] == rev and out["inSync"] is True
    by_id = {i["id"]: i for i in out["instances"]}
    assert by_id[stack.editor.instance_id]["role"] == "editor"
    for w in stack.workers:
        rec = by_id[w.instance_id]
        assert (rec["role"], rec["rev"], rec["state"], rec["port"]) == ("worker", rev, "running", w.port)
        assert rec["stale"] is False


def test_status_names_a_frozen_worker_behind_then_stale_and_clears_once_it_catches_up(own_stack):
    stack = own_stack
    stack.deploy(whoami_flow(uuid.uuid4().hex))
    frozen = stack.workers[0]
    frozen.pause()
    try:
        rev = stack.admin().deploy(whoami_flow(uuid.uuid4().hex))
        stack.wait_workers(rev, workers=stack.workers[1:])

        p = status(stack, "--stale-after", "300")
        assert p.returncode == 1, p.stdout
        assert f"NOT IN SYNC: {len(stack.workers) - 1} of {len(stack.workers)} workers run revision {rev}" in p.stdout
        line = next(ln for ln in p.stdout.splitlines() if ln.startswith(frozen.instance_id + " "))
        assert line.endswith("behind"), line

        time.sleep(4)  # no status write from the frozen worker meanwhile
        p = status(stack, "--stale-after", "3")
        assert p.returncode == 1
        line = next(ln for ln in p.stdout.splitlines() if ln.startswith(frozen.instance_id + " "))
        assert line.endswith("stale"), line
    finally:
        frozen.resume()
    stack.wait_workers(rev)
    deadline = time.monotonic() + 15
    while (p := status(stack)).returncode != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert p.returncode == 0, p.stdout
    assert f"IN SYNC: all {len(stack.workers)} workers run revision {rev}" in p.stdout
