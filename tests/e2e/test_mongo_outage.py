"""MongoDB restarted under load: workers keep serving what they run, and catch up once it is back; an instance
stopped while MongoDB does not answer still stops."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
import requests

from local_stack import Load, MongoServer, NodeRedInstance
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
    stack.wait_recorded(rev)
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


@pytest.mark.parametrize("role", ["editor", "worker"])
def test_an_instance_stopped_while_mongodb_is_frozen_stops_cleanly_and_says_what_it_left(tmp_path, role):
    """MongoDB frozen (SIGSTOP: its connections stay open, nothing answers), then the instance is stopped as
    `docker stop` or ECS would. Guards: the stop waited for ever on closing the change streams (the storage's,
    and the editor's debug relay) and ended only at the launcher's own 15 s exit, code 1, with "shutdown took
    longer than 15 s" and nothing naming what it waited for."""
    with MongoServer() as mongo:
        inst = NodeRedInstance(role, mongo.url, f"stop_frozen_{uuid.uuid4().hex[:8]}", user_dir=tmp_path / role)
        try:
            inst.start().wait_ready(timeout=120)
            mongo.pause()
            try:
                code = inst.stop(timeout=30)
            finally:
                mongo.resume()
        finally:
            inst.stop()
        log = inst.log_text()
    assert "shutdown took longer than 15 s" not in log, log[-3000:]
    assert code == 0, log[-3000:]
    left = [line for line in log.splitlines() if "did not finish within" in line]
    assert left and all("MongoDB not answering?" in line for line in left), log[-3000:]
    assert log.rstrip().endswith("[launcher] stopped"), log[-1000:]
