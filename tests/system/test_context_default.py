"""The default context store (stack config context.default, NODE_RED_CONTEXT_DEFAULT), switched both ways on
real instances: what a flow reads and writes without naming a store, and that nothing is lost on a switch.

Guards: `context.default: shared` that the instances ignore (workers keep separate values), a switch back
to `memory` that breaks synchronous global.get() in existing flows, and values of the shared store lost
when the default moves away from it and back."""

from __future__ import annotations

import requests

from local_stack import AdminClient
from local_stack.cluster_flows import context_flow


def get(inst, key: str, **params) -> requests.Response:
    return requests.get(inst.node_url + "/ctx", params={"key": key, **params}, timeout=15)


def put(inst, key: str, value, **body) -> None:
    r = requests.post(inst.node_url + "/ctx", json={"key": key, "value": value, **body}, timeout=15)
    assert r.status_code == 200, r.text


def restart_with_default(instances, default: str, rev: int) -> None:
    for inst in instances:
        inst.stop()
        inst.extra_env["NODE_RED_CONTEXT_DEFAULT"] = default
        inst.start()
    for inst in instances:
        inst.wait_ready(rev=rev)


def test_the_default_store_switches_from_shared_to_memory_and_back(nodered_factory):
    shared = {"NODE_RED_CONTEXT_DEFAULT": "shared"}
    editor = nodered_factory("editor", extra_env=dict(shared))
    a = nodered_factory("worker", instance_id="a", extra_env=dict(shared))
    b = nodered_factory("worker", instance_id="b", extra_env=dict(shared))
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    admin.login()
    rev = admin.deploy(context_flow())
    for w in (a, b):
        w.wait_ready(rev=rev)
    stores = admin.get("/settings").json()["context"]
    assert stores == {"default": "shared", "stores": ["memory", "shared"]}, "the editor's store menu"

    # Default shared: a value set without naming a store is every instance's.
    put(a, "greeting", {"hello": "everyone"})
    assert get(b, "greeting").json()["value"] == {"hello": "everyone"}
    assert get(b, "greeting", store="shared").json()["value"] == {"hello": "everyone"}
    assert get(b, "greeting", store="memory").json()["found"] is False
    # A synchronous read cannot be answered by the shared store: an error saying to pass a callback.
    sync = get(b, "greeting", sync=1)
    assert sync.status_code == 500 and "pass a callback" in sync.json()["error"]

    # Default memory: synchronous reads work again, per instance; the shared values are still there by name.
    restart_with_default([a, b], "memory", rev)
    assert get(a, "greeting", sync=1).json() == {"value": None, "found": False, "instance": "a"}
    put(a, "local", 1)
    assert get(a, "local", sync=1).json()["value"] == 1
    assert get(b, "local", sync=1).json()["found"] is False
    assert get(b, "greeting", store="shared").json()["value"] == {"hello": "everyone"}

    # Back to shared: the value set before the switch is the default store's again.
    restart_with_default([a, b], "shared", rev)
    assert get(a, "greeting").json()["value"] == {"hello": "everyone"}
    assert get(b, "local").json()["found"] is False
