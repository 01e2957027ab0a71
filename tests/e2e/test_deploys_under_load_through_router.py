"""Deploys while clients call the flows through the router: no client request may fail or hang.

A deploy swaps the flows on every worker at about the same moment; a request that reaches a worker
during the swap must still get its answer (from the old or the new flows), never an error, a 404
from a missing route, or no answer at all. One worker on its own, without the router:
tests/system/test_flow_swap_under_load.py.
"""

from __future__ import annotations

import json
import time
import uuid

from local_stack import Load
from local_stack.flows import whoami_flow

DEPLOYS = 8


def test_no_request_fails_or_hangs_while_deploying(own_stack):
    stack = own_stack
    admin = stack.admin()
    stack.deploy(whoami_flow("before"), admin=admin)
    markers = []
    with Load(stack.router.api_url + "/whoami", threads=4, interval=0.01, timeout=15) as load:
        time.sleep(1)
        for i in range(DEPLOYS):
            markers.append(f"deploy-{i}-{uuid.uuid4().hex[:6]}")
            stack.deploy(whoami_flow(markers[-1]), admin=admin)
            time.sleep(0.3)
        time.sleep(1)
        outcomes = load.stop()
    failed = [o for o in outcomes if not o.ok]
    assert failed == [], (
        f"{len(failed)} of {len(outcomes)} requests failed: {[(o.status, o.error or o.body[:80]) for o in failed[:5]]}"
    )
    served = {json.loads(o.body)["marker"] for o in outcomes}
    assert markers[-1] in served
