"""The shared-atomic palette node (flows without code) on 3 workers, under concurrent requests through the
router: HTTP in -> shared-atomic -> HTTP response (local_stack.cluster_flows.shared_atomic_node_flow).

Guards: a counter or a lock built without a function node having nothing atomic to use (a get/set counter
loses counts under concurrent requests), the palette node missing on the workers (its type unknown: the
flows would not start), and a misconfigured node that deploys yet answers nothing or something wrong."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from local_stack.cluster_flows import shared_atomic_node_flow

CLIENTS = 48  # concurrent requests in flight
_local = threading.local()


@pytest.fixture(scope="module")
def stack(own_stack):
    own_stack.deploy(shared_atomic_node_flow())
    return own_stack


def call(url: str, endpoint: str, **body) -> tuple[int, dict]:
    """POST <url>/atomic-node/<endpoint> body: (status, answer)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    r = session.post(f"{url}/atomic-node/{endpoint}", json=body, timeout=30)
    return r.status_code, r.json()


def answered(url: str, endpoint: str, **body) -> dict:
    status, answer = call(url, endpoint, **body)
    assert status == 200, answer
    return answer


def run_concurrently(calls: int, one: Callable[[int], dict]) -> list[dict]:
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(calls)))


def test_incr_node_counts_3_rounds_of_200_concurrent_requests_over_3_workers_exactly(stack):
    answers = []
    for _round in range(3):
        answers += run_concurrently(200, lambda _i: answered(stack.api_url, "incr", key="hits"))
    assert len({a["instance"] for a in answers}) == 3, "the router spread the requests over the 3 workers"
    assert {a["output"] for a in answers} == {1}
    assert sorted(a["payload"] for a in answers) == list(range(1, 601)), "every request got its own new number"
    assert answered(stack.api_url, "get", key="hits")["value"] == 600


def test_lock_node_has_one_holder_at_a_time(stack):
    """150 clients each loop lock -> get/set counter + 1 -> unlock until granted: with one holder at a time
    the counter is exact, and every holder's unlock (the token the lock node left in msg.lockToken) succeeds."""
    instances = set()

    def until_granted(_i: int) -> dict:
        for _n in range(2000):
            a = answered(stack.api_url, "locked")
            assert a["payload"] is not False, "a holder's unlock found its lock freed or taken by another"
            if a["output"] == 1:
                instances.add(a["instance"])
                return a
            assert a["payload"] is None, a
        raise AssertionError("never granted the lock in 2000 attempts")

    granted = run_concurrently(150, until_granted)
    assert all(a["payload"] is True for a in granted)
    assert len(instances) == 3, "holders on every worker"
    assert answered(stack.api_url, "get", key="guarded")["value"] == 150


def test_misconfigured_nodes_deploy_and_answer_each_message_with_an_error_a_catch_node_gets(stack):
    """An unknown operation or an empty key (the editor flags both; a flow deployed through the API may
    still hold them) fail every message with an error naming the problem, on every worker, instead of
    leaving the request unanswered."""
    for _ in range(6):  # over the workers
        assert call(stack.api_url, "bad-operation") == (
            500,
            {
                "error": 'shared-atomic: unknown operation "frobnicate": use one of '
                "incr, compareAndSet, deleteIfEqual, lock, unlock",
                "source": "shared-atomic",
            },
        )
        assert call(stack.api_url, "empty-key") == (
            500,
            {"error": "shared-atomic: no key configured", "source": "shared-atomic"},
        )
    status, answer = call(stack.api_url, "incr", key="")
    assert (status, answer["error"]) == (
        500,
        "shared-atomic: msg.payload.key must be a non-empty string, got an empty string",
    )
    answered(stack.api_url, "create", key="text", value="five")
    status, answer = call(stack.api_url, "incr", key="text")
    assert (status, answer["error"]) == (500, 'shared.incr: "text" holds a string, not a number')
