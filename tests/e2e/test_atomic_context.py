"""The shared store's atomic operations from function nodes (the nodered-scale-shared module) on 3 workers,
under concurrent requests through the router.

Guards: a counter kept with global.get/set in the `shared` store, which loses counts under concurrent
requests (two workers that both read 5 both write 6), with no atomic operation to use instead; and a lock
whose holder, frozen past its TTL, frees the next holder's lock with its late unlock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from local_stack.cluster_flows import atomic_flow

CLIENTS = 48  # concurrent requests in flight


@pytest.fixture(scope="module")
def stack(own_stack):
    own_stack.deploy(atomic_flow())
    return own_stack


_local = threading.local()


def op(url: str, **body) -> dict:
    """POST one operation to <url>/atomic; its answer (an error answer fails the test)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    r = session.post(url + "/atomic", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def run_concurrently(calls: int, call: Callable[[int], dict]) -> list[dict]:
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(call, range(calls)))


def test_incr_from_3_workers_counts_every_one_of_1500_concurrent_requests(stack):
    answers = run_concurrently(1500, lambda _i: op(stack.api_url, op="incr", key="n", plain="plain-n"))
    assert len({a["instance"] for a in answers}) == 3, "the router spread the requests over the 3 workers"
    assert sorted(a["n"] for a in answers) == list(range(1, 1501)), "every request got its own new number"
    assert op(stack.api_url, op="get", key="n")["value"] == 1500
    # The get/set counter of the same requests counts at most as many (figures only: losses are timing).
    plain = op(stack.api_url, op="get", key="plain-n")["value"]
    assert plain <= 1500
    print(f"incr: 1500 of 1500; get/set counter: {plain} of 1500")


def test_compare_and_set_under_contention_loses_no_update(stack):
    """Clients loop compareAndSet(read, read + 1) until it is true; the final value is the number of
    successful updates (a compare-and-set that wrote over a value it did not expect would lose one)."""
    attempts = []

    def until_true(_i: int) -> dict:
        for n in range(1, 1000):
            if op(stack.api_url, op="casIncr", key="cas")["ok"]:
                attempts.append(n)
                return {"ok": True}
        raise AssertionError("compareAndSet never succeeded in 1000 attempts")

    run_concurrently(300, until_true)
    assert op(stack.api_url, op="get", key="cas")["value"] == 300
    print(f"compareAndSet: 300 updates in {sum(attempts)} attempts")


def test_a_lock_never_has_two_holders(stack):
    """Requests take lock(key, 30), add one to a get/set counter, unlock: with one holder at a time the
    counter is exact, and every holder's unlock finds its own lock."""
    granted = []

    def until_granted(_i: int) -> dict:
        for _n in range(1, 2000):
            a = op(stack.api_url, op="lockedIncr", key="mutex", counter="guarded")
            if a["ok"]:
                granted.append(a)
                return a
        raise AssertionError("never granted the lock in 2000 attempts")

    run_concurrently(150, until_granted)
    assert all(a["unlocked"] for a in granted), "a holder's lock had been freed or taken by someone else"
    assert op(stack.api_url, op="get", key="guarded")["value"] == 150


def wait_for(check: Callable[[], object], timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_holder_frozen_past_its_ttl_cannot_free_the_next_holders_lock(stack):
    frozen, other = stack.workers[0], stack.workers[1]
    first = op(frozen.node_url, op="lock", key="job", ttl=1)["token"]
    assert first is not None
    frozen.pause()  # SIGSTOP: a holder stalled (GC pause, VM stall) while holding the lock
    try:
        assert op(other.node_url, op="lock", key="job", ttl=30)["token"] is None, "granted twice"
        second = wait_for(
            lambda: op(other.node_url, op="lock", key="job", ttl=30)["token"], 15, "the expired lock to be granted"
        )
    finally:
        frozen.resume()
    assert second > first, "tokens grow with every grant"
    assert op(frozen.node_url, op="unlock", key="job", token=first)["ok"] is False, "a late unlock succeeded"
    assert op(other.node_url, op="lock", key="job", ttl=30)["token"] is None, "the late unlock freed the new lock"
    assert op(stack.api_url, op="get", key="job")["value"]["token"] == second
    assert op(other.node_url, op="unlock", key="job", token=second)["ok"] is True
