"""Context on the whole stack through the router: the `shared` store is one for every worker, survives a
worker's restart and a deploy, and loses only the context of nodes and flows a deploy removed.

Guards: a counter kept with global.get/set that answered 1,1,1,2,2,2 through the router because every
worker had its own context, with no store to configure instead."""

from __future__ import annotations

import time

import pymongo
import requests

from local_stack.cluster_flows import context_flow, counter_flow


def count(stack) -> dict:
    r = requests.get(stack.api_url + "/count", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_counter_in_the_shared_store_counts_1_to_30_across_the_workers(shared_stack):
    shared_stack.deploy(counter_flow(store="shared"))
    answers = [count(shared_stack) for _ in range(30)]
    assert [a["count"] for a in answers] == list(range(1, 31))
    assert len({a["instance"] for a in answers}) == 3, "the router spread the requests over the 3 workers"


def test_in_the_memory_store_each_worker_counts_for_itself(shared_stack):
    """What the issue saw, kept as documented behaviour of the `memory` store (the default)."""
    shared_stack.deploy(counter_flow(store=None, key="memory-counter"))
    answers = [count(shared_stack) for _ in range(9)]
    per_instance: dict[str, list[int]] = {}
    for a in answers:
        per_instance.setdefault(a["instance"], []).append(a["count"])
    assert all(counts == list(range(1, len(counts) + 1)) for counts in per_instance.values()), per_instance


def ctx_get(url: str, key: str, **params) -> dict:
    r = requests.get(url + "/ctx", params={"key": key, **params}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def ctx_set(url: str, key: str, value, **body) -> None:
    r = requests.post(url + "/ctx", json={"key": key, "value": value, **body}, timeout=10)
    assert r.status_code == 200, r.text


def test_shared_context_survives_a_worker_restart_and_a_deploy_and_clean_removes_only_deleted_flows(own_stack):
    value = {"nested": {"list": [1, "two", {"$three": 3}], "dotted.key": True}, "text": "ünïcødé"}
    rev = own_stack.deploy(context_flow())
    ctx_set(own_stack.api_url, "config", value, store="shared")
    ctx_set(own_stack.api_url, "state", "flow-scoped", store="shared", scope="flow")
    for w in own_stack.workers:  # every worker reads what one of them wrote
        assert ctx_get(w.node_url, "config", store="shared")["value"] == value

    restarted = own_stack.workers[0]
    restarted.stop()
    restarted.start()
    restarted.wait_ready(rev=rev)
    assert ctx_get(restarted.node_url, "config", store="shared")["value"] == value
    assert ctx_get(restarted.node_url, "state", store="shared", scope="flow")["value"] == "flow-scoped"

    # A deploy that keeps the context tab keeps its flow context and the global one.
    rev = own_stack.deploy(context_flow() + counter_flow(store="shared", path="/count2", tab_id="tab-count2"))
    assert ctx_get(own_stack.api_url, "config", store="shared")["value"] == value
    assert ctx_get(own_stack.api_url, "state", store="shared", scope="flow")["value"] == "flow-scoped"

    # A deploy that deletes the tab removes its flow context (the editor cleans up), never the global one.
    db = pymongo.MongoClient(own_stack.mongo.url)[own_stack.db]
    assert db["context"].count_documents({"scope": "tab-ctx"}) == 1
    own_stack.deploy(counter_flow(store="shared", path="/count2", tab_id="tab-count2"))
    deadline = time.monotonic() + 10
    while db["context"].count_documents({"scope": "tab-ctx"}):
        assert time.monotonic() < deadline, "the deleted tab's flow context is still stored"
        time.sleep(0.1)
    assert db["context"].find_one({"scope": "global", "key": "config"}) is not None
