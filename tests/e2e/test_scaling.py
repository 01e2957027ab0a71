"""Scaling the workers re-renders the router's config and reloads nginx: no request is lost either way."""

from __future__ import annotations

import json
import time
import uuid

from local_stack import Load
from local_stack.flows import whoami_flow


def served_ports(outcomes):
    return {json.loads(o.body)["port"] for o in outcomes if o.ok}


def test_scale_up_and_down_under_load(own_stack):
    stack = own_stack
    marker = uuid.uuid4().hex
    stack.deploy(whoami_flow(marker))

    with Load(stack.router.api_url + "/whoami", threads=3, interval=0.01) as load:
        time.sleep(1)
        added = stack.add_worker()  # starts it, waits until ready, then reloads the router
        assert added.healthz()["rev"] == stack.workers[0].healthz()["rev"]
        scaled_up_at = time.monotonic()
        time.sleep(2)
        removed = stack.remove_worker(stack.workers[0])  # out of the router first, then stopped
        scaled_down_at = time.monotonic()
        time.sleep(2)
        outcomes = load.stop()

    failed = [o for o in outcomes if not o.ok]
    assert failed == [], [(o.status, o.error or o.body[:80]) for o in failed[:5]]
    after_up = [o for o in outcomes if scaled_up_at <= o.at < scaled_down_at]
    assert added.port in served_ports(after_up)
    assert len(served_ports(after_up)) == 4
    after_down = [o for o in outcomes if o.at >= scaled_down_at + 0.5]
    assert served_ports(after_down) == {w.port for w in stack.workers}
    assert removed.port not in served_ports(after_down)
    assert {json.loads(o.body)["marker"] for o in outcomes} == {marker}
    nginx_conf = stack.router.conf_path.read_text()
    assert f"127.0.0.1:{removed.port}" not in nginx_conf and f"127.0.0.1:{added.port}" in nginx_conf
