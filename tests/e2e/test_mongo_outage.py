"""MongoDB restarted under load: workers keep serving what they run, and catch up once it is back."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import requests

from local_stack import Load
from local_stack.flows import whoami_flow


def test_workers_serve_through_a_mongodb_restart_and_take_the_next_deploy(own_mongo_stack):
    stack = own_mongo_stack
    first = uuid.uuid4().hex
    stack.deploy(whoami_flow(first))

    with Load(stack.router.api_url + "/whoami", threads=3, interval=0.02) as load:
        time.sleep(1)
        stack.mongo.restart(down_seconds=5)
        time.sleep(2)
        during = load.stop()

    # Requests during the outage and after it: all answered by the flows the workers run.
    failed = [o for o in during if not o.ok]
    assert failed == [], [(o.status, o.error or o.body[:100]) for o in failed[:10]]
    assert len(during) > 100
    assert {json.loads(o.body)["marker"] for o in during} == {first}

    # The next deploy (made once MongoDB answers again) reaches every worker.
    second = uuid.uuid4().hex
    rev = stack.deploy(whoami_flow(second), timeout=90)
    for w in stack.workers:
        assert w.healthz()["rev"] >= rev
    answers = [requests_json(stack.router.api_url + "/whoami") for _ in range(3 * len(stack.workers))]
    assert {a["marker"] for a in answers} == {second}
    assert {a["port"] for a in answers} == {w.port for w in stack.workers}

    # The status command, on the live deployment's database, agrees.
    p = subprocess.run(
        [sys.executable, "-m", "nodered_status", "--mongo-url", stack.mongo.url, "--db", stack.db],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"IN SYNC: all {len(stack.workers)} workers run revision {rev}" in p.stdout
    for inst in [stack.editor, *stack.workers]:
        assert inst.instance_id in p.stdout


def requests_json(url):
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, r.text[:200]
    return r.json()
