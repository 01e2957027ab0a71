"""A worker dies under steady load: the router routes around it, and takes it back once it is restarted.

What nginx's passive checks promise (nginx/render.py: max_fails, fail_timeout, proxy_next_upstream):
an idempotent request that gets no answer from a worker (connection refused, closed or reset, timeout)
is sent to the next worker, and a worker that failed max_fails times is left out for fail_timeout; a
worker's own answer, 5xx included, goes to the client unchanged and never counts. Any request whose
connect is refused is sent to the next worker (nothing reached the dead one), but a POST already
sent to the dying worker is not resent. So a GET may be at risk only if it was already on the dying
worker when it died (at most one per client thread), and no request, GET or POST, may fail once
the router has seen the failures (the detection window). After fail_timeout
nginx tries the worker again, so a restarted worker gets traffic without reloading the router.
"""

from __future__ import annotations

import json
import time
import uuid

import requests

from local_stack import Load
from local_stack.flows import whoami_flow
from nginx.render import FAIL_TIMEOUT

THREADS = 4
DETECTION_WINDOW = 2.0  # s after the kill: the first requests routed to the dead worker mark it down


def ports(outcomes):
    return {json.loads(o.body)["port"] for o in outcomes if o.ok}


def describe(failures):
    return [(round(o.at, 3), o.status, o.error or o.body[:100]) for o in failures[:10]]


def test_killed_worker_is_routed_around_and_restarted_worker_gets_traffic_again(own_stack):
    stack = own_stack
    marker = uuid.uuid4().hex
    stack.deploy(whoami_flow(marker))
    victim = stack.workers[1]
    others = {w.port for w in stack.workers} - {victim.port}

    url = stack.router.api_url + "/whoami"
    # POSTs too: nginx never resends one that reached a worker, but does when the connect failed.
    with (
        Load(url, threads=THREADS, interval=0.01) as load,
        Load(url, threads=1, interval=0.02, method="POST", body={}) as posts,
    ):
        time.sleep(2)
        before = load.snapshot()
        assert before and all(o.ok for o in before), describe([o for o in before if not o.ok])
        assert ports(before) == {w.port for w in stack.workers}

        killed_at = time.monotonic()
        victim.kill()
        time.sleep(DETECTION_WINDOW + 4)
        after_kill = [o for o in load.snapshot() if o.at >= killed_at]
        in_window = [o for o in after_kill if o.at < killed_at + DETECTION_WINDOW and not o.ok]
        late = [o for o in after_kill if o.at >= killed_at + DETECTION_WINDOW and not o.ok]
        print(
            f"\nfailures in the {DETECTION_WINDOW}s detection window: {len(in_window)}; after it: {len(late)};"
            f" requests after kill: {len(after_kill)}"
        )
        assert len(in_window) <= THREADS, describe(in_window)
        assert late == [], describe(late)
        late_posts = posts.failures(since=killed_at + DETECTION_WINDOW)
        print(
            f"POST failures after the kill: {len(posts.failures(since=killed_at))}, after the window: {len(late_posts)}"
        )
        assert late_posts == [], describe(late_posts)
        served = [o for o in after_kill if o.at >= killed_at + DETECTION_WINDOW]
        assert len(served) > 50 and ports(served) == others

        restarted_at = time.monotonic()
        victim.start()
        victim.wait_ready(timeout=90)
        # nginx probes the worker again once fail_timeout has passed since it was marked down.
        deadline = time.monotonic() + int(FAIL_TIMEOUT.rstrip("s")) + 20
        while time.monotonic() < deadline:
            back = [o for o in load.snapshot() if o.at >= restarted_at]
            if victim.port in ports(back):
                break
            time.sleep(0.5)
        back_at = time.monotonic()
        time.sleep(2)
        outcomes = load.stop()
        post_outcomes = posts.stop()

    since_restart = [o for o in outcomes if o.at >= restarted_at]
    assert victim.port in ports(since_restart), "the restarted worker never got traffic again"
    last = [o for o in outcomes if o.at >= back_at]
    assert ports(last) == {w.port for w in stack.workers}
    failed = [o for o in since_restart if not o.ok]
    assert failed == [], describe(failed)
    failed_posts = [o for o in post_outcomes if o.at >= restarted_at and not o.ok]
    assert failed_posts == [], describe(failed_posts)
    assert {json.loads(o.body)["marker"] for o in outcomes if o.ok} == {marker}


def test_a_starting_worker_never_answers_404_for_a_deployed_endpoint(own_stack):
    """nginx passes on whatever a worker answers: a worker that listens before its flows are started
    and answers 404 meanwhile would hand that 404 to clients whenever the router (re)tries it during
    its start, e.g. after a restart. Seen straight on the worker's port (no X-Nodered-Router header):
    while it starts, it refuses connections, holds requests, or answers 503; the router's requests get
    their connection closed instead, and nginx resends them (tests/system/test_roles_and_health.py)."""
    stack = own_stack
    marker = uuid.uuid4().hex
    stack.deploy(whoami_flow(marker))
    worker = stack.workers[2]
    worker.stop()
    worker.start()
    url = worker.node_url + "/whoami"
    seen = []
    session = requests.Session()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            r = session.get(url, timeout=15)
            seen.append(r.status_code)
            if r.status_code == 200:
                assert r.json()["marker"] == marker
                break
        except requests.ConnectionError:
            session.close()
            session = requests.Session()
        time.sleep(0.005)
    worker.wait_ready(timeout=30)
    assert 200 in seen, seen[-5:]
    assert set(seen) <= {200, 503}, f"answers while starting: {sorted(set(seen))} ({seen.count(404)} x 404)"
