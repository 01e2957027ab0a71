"""A database that hangs (its process stopped: connections accepted, nothing answered), as a flow and a
health check see it: shared context answers with an error within 5 s and every instance's /healthz says
`dbReachable: false` within 5 s, and true again once the database answers.

Guards: shared-context get and set that answered only after 35-45 s ("interrupted due to server monitor
timeout") on a hung database, and `dbReachable` that stayed true on every instance meanwhile."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from local_stack import AdminClient
from local_stack.cluster_flows import context_flow

# Failure bounds, not performance figures: the instances' own limits are 5 s.
BOUND = 8.0


def timed(method: str, url: str, **kw) -> tuple[float, requests.Response | None]:
    """(seconds, response); response None when there was no answer within twice the bound."""
    began = time.monotonic()
    try:
        r = requests.request(method, url, timeout=2 * BOUND, **kw)
    except requests.Timeout:
        r = None
    return time.monotonic() - began, r


def test_on_a_hung_database_context_errors_within_5s_and_healthz_says_unreachable_until_it_answers(
    own_mongo, nodered_factory
):
    editor = nodered_factory("editor", mongo_url=own_mongo.url)
    workers = [nodered_factory("worker", mongo_url=own_mongo.url) for _ in range(2)]
    instances = [editor, *workers]
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    rev = admin.deploy(context_flow())
    for w in workers:
        w.wait_ready(rev=rev)
    r = requests.post(workers[0].node_url + "/ctx", json={"key": "k", "value": "before", "store": "shared"}, timeout=10)
    assert r.status_code == 200, r.text
    assert all(i.healthz()["dbReachable"] for i in instances)

    own_mongo.pause()
    paused = time.monotonic()
    unreachable_after: dict[str, float] = {}
    try:
        with ThreadPoolExecutor(2) as pool:
            get = pool.submit(timed, "GET", workers[0].node_url + "/ctx", params={"key": "k", "store": "shared"})
            put = pool.submit(
                timed, "POST", workers[1].node_url + "/ctx", json={"key": "k", "value": "during", "store": "shared"}
            )
            while len(unreachable_after) < len(instances) and time.monotonic() - paused < 2 * BOUND:
                for i in instances:
                    h = i.healthz()
                    # Readiness does not depend on the database: each keeps serving what it runs.
                    assert (h["status_code"], h["ready"]) == (200, True), h
                    if not h["dbReachable"] and i.instance_id not in unreachable_after:
                        unreachable_after[i.instance_id] = time.monotonic() - paused
                time.sleep(0.1)
            answers = {"get": get.result(), "set": put.result()}
    finally:
        own_mongo.resume()
    resumed = time.monotonic()

    for name, (took, resp) in answers.items():
        assert resp is not None, f"shared-context {name} gave no answer within {2 * BOUND} s on a hung database"
        assert resp.status_code == 500 and resp.json()["error"], f"{name}: {resp.status_code} {resp.text}"
        assert took < BOUND, f"shared-context {name} answered its error after {took:.1f} s"
    assert sorted(unreachable_after) == sorted(i.instance_id for i in instances), (
        f"dbReachable stayed true on a hung database: went false only on {unreachable_after}"
    )
    assert max(unreachable_after.values()) < BOUND, unreachable_after

    while not all(i.healthz()["dbReachable"] for i in instances):
        assert time.monotonic() - resumed < 15, "dbReachable did not come back once the database answered"
        time.sleep(0.1)
    r = requests.get(workers[1].node_url + "/ctx", params={"key": "k", "store": "shared"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["value"] in ("before", "during"), "a set that timed out may still land once the server resumes"
    for i in instances:
        assert "MongoDB does not answer" in i.log_text() and "MongoDB answers again" in i.log_text()
