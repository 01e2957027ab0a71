"""A stack moves from Node-RED 4.1 to 5 on the same database, as `pulumi up` after a change of
image.nodeRedVersion does (docs/image.md: "Upgrading Node-RED"): instances on 4.1 (Node.js 22) deploy flows with
credentials and shared context and keep a library entry and a login session; instances on 5 (Node.js 24)
started on that database serve the same flows, decrypt the same credentials, read the same context and
accept the same session. While a rolling update has workers on both, the editor on the newer Node-RED
refuses deploys that older workers would load.

The stack's instances are replaced in place (LocalStack.replace: same names, ports and database; the router
keeps running), one module stack for the whole story, in order."""

from __future__ import annotations

import os

import pytest
import requests

from local_stack.cluster_flows import counter_flow
from local_stack.flows import credentials_flow, marker_flow, wait_marker
from local_stack.node_lines import LINES

from ..fixtures.stacks import make_stack

OLD = LINES["4.1"].node_red_version()
NEW = LINES["5"].node_red_version()
LIBRARY_ENTRY = "/library/local/functions/upgrade/trim.js"
LIBRARY_BODY = "msg.payload = msg.payload.trim();\nreturn msg;"


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory, mongo_server):
    yield from make_stack(request, tmp_path_factory, "stack-upgrade", workers=2, mongo=mongo_server, node_red="4.1")


def versions(stack) -> dict[str, str]:
    """Each instance's Node-RED, checked to run on its line's Node.js (the executable of its process)."""
    found = {}
    for inst in [stack.editor, *stack.workers]:
        version = inst.healthz()["nodeRedVersion"]
        node = next(ln.node for ln in LINES.values() if ln.node_red_version() == version)
        assert os.path.realpath(f"/proc/{inst._node_pids()[0]}/exe") == os.path.realpath(node), inst.instance_id
        found[inst.instance_id] = version
    return found


def through_router(stack, path: str) -> requests.Response:
    return requests.get(stack.api_url + path, timeout=10)


def flows_of(stack) -> list[dict]:
    return [
        *credentials_flow("api-user", "s3cret pass", http_node_root=stack.http_node_root),
        *counter_flow(store="shared"),
    ]


def test_flows_credentials_context_sessions_and_library_move_from_4_1_to_5(stack):
    """Guards: no upgrade path (the stack pinned 4.1, and nothing showed that a database written by 4.1
    serves 5 with its flows, credentials, context, sessions and library)."""
    assert set(versions(stack).values()) == {OLD}
    admin = stack.admin()  # a login session, kept in the database
    rev = stack.deploy(flows_of(stack), admin=admin)
    secure = through_router(stack, "/secure")
    assert (secure.status_code, secure.text) == (200, "secret-ok")
    assert [through_router(stack, "/count").json()["count"] for _ in range(3)] == [1, 2, 3]
    saved = admin.post(LIBRARY_ENTRY, json={"name": "trim", "outputs": 1, "text": LIBRARY_BODY})
    assert saved.status_code == 204
    deployed = admin.get_flows()

    stack.replace([*stack.workers, stack.editor], "5")

    assert set(versions(stack).values()) == {NEW}
    assert all(w.healthz()["rev"] == rev for w in stack.workers), "the same revision, no deploy in between"
    # The session of the 4.1 editor is one of the 5 editor's: the same token reads the same flows.
    assert admin.get_flows()["flows"] == deployed["flows"]
    secure = through_router(stack, "/secure")
    assert (secure.status_code, secure.text) == (200, "secret-ok"), "credentials saved by 4.1 decrypt on 5"
    assert [through_router(stack, "/count").json()["count"] for _ in range(2)] == [4, 5]
    entry = admin.get(LIBRARY_ENTRY)
    assert (entry.status_code, entry.text) == (200, LIBRARY_BODY)
    # And the editor on 5 deploys to the workers on 5.
    stack.deploy([*flows_of(stack), *marker_flow("on-5")], admin=admin)
    wait_marker(stack.api_url, "on-5")


def test_a_newer_editor_refuses_deploys_while_older_workers_run(stack):
    """Guards: during a rolling update (aws: the worker service rolls while the editor is replaced), an
    editor on Node-RED 5 saved revisions that workers still on 4.1 loaded, whatever 5-only options they
    used. The refusal names the workers and nothing is saved; an older editor with newer workers deploys."""
    assert set(versions(stack).values()) == {NEW}
    older = stack.workers[:1]
    stack.replace(older, "4.1")
    admin = stack.admin()
    before = admin.get_flows()
    r = admin.session.post(
        stack.url + "/flows",
        json={"flows": [*flows_of(stack), *marker_flow("mixed")]},
        headers=admin.headers(**{"Node-RED-Deployment-Type": "full"}),
        timeout=30,
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "older_workers"
    assert older[0].instance_id in r.json()["message"] and f"Node-RED {OLD}" in r.json()["message"]
    assert admin.get_flows()["rev"] == before["rev"], "nothing saved"

    stack.replace(older, "5")
    stack.deploy([*flows_of(stack), *marker_flow("all-on-5")], admin=admin)
    wait_marker(stack.api_url, "all-on-5")

    # The other order: the editor on 4.1, the workers on 5 already; what it saves, 5 loads.
    stack.replace([stack.editor], "4.1")
    admin = stack.admin()
    stack.deploy([*flows_of(stack), *marker_flow("older-editor")], admin=admin)
    wait_marker(stack.api_url, "older-editor")
