"""The status command against a running deployment's database (records written by the instances)."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid

from tests.e2e.flows_e2e import whoami_flow


def test_status_lists_the_live_instances_and_says_in_sync(shared_stack):
    stack = shared_stack
    rev = stack.deploy(whoami_flow(uuid.uuid4().hex))
    p = subprocess.run([sys.executable, "-m", "nodered_status", "--json"], capture_output=True, text=True,
                       timeout=60, env={"MONGO_URL": stack.mongo.url, "MONGO_DB": stack.db, "PATH": "/usr/bin"})
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout)
    assert out["newestRev"] == rev and out["inSync"] is True
    by_id = {i["id"]: i for i in out["instances"]}
    assert by_id[stack.editor.instance_id]["role"] == "editor"
    for w in stack.workers:
        rec = by_id[w.instance_id]
        assert (rec["role"], rec["rev"], rec["state"], rec["port"]) == ("worker", rev, "running", w.port)
        assert rec["stale"] is False
