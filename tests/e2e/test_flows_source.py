"""A stack whose flows come from files (stack config flows.source, docs/flows-as-code.md), through the router:
its editor runs with the lock the program gives it (NODE_RED_FLOWS_SOURCE and the deploy token's hash), and
the provider `pulumi up` runs (components/flows_deployment.py FlowsProvider: diff, create, update) is called
as the engine calls it, against this real stack.

Guards: someone editing prod directly while `pulumi up` defines it (every deploy path of the editor and of
the status command refused, naming the source; restart, viewing and rollback still working); a `pulumi up`
that redeploys unchanged flows, misses a change or a rollback (drift), saves flows the editor would refuse,
or fails outright when the editor cannot be asked during a preview."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
import requests

from components.flows_deployment import FlowsProvider, flows_input
from local_stack.flows import marker_flow, whoami_flow
from local_stack.stack import LocalStack
from nodered_status import flowfiles
from tests.fixtures.stacks import make_stack

TOKEN = "flows-deploy-token-" + "0123456789abcdef" * 2
SOURCE = "flows/prod"
LOCK = {
    "NODE_RED_FLOWS_SOURCE": SOURCE,
    "NODE_RED_FLOWS_DEPLOYER": "pulumi:prod",
    "NODE_RED_FLOWS_DEPLOY_TOKEN_HASH": hashlib.sha256(TOKEN.encode()).hexdigest(),
}


@pytest.fixture(scope="module")
def locked(request, tmp_path_factory, mongo_server):
    yield from make_stack(request, tmp_path_factory, "flows-locked", workers=2, mongo=mongo_server, extra_env=LOCK)


_admins: dict[int, object] = {}


def admin(stack):
    """One login per stack: the router limits the rate of logins per client."""
    if id(stack) not in _admins:
        _admins[id(stack)] = stack.admin()
    return _admins[id(stack)]


def props(stack: LocalStack, directory, token: str = TOKEN) -> dict:
    """The inputs the program gives the resource for the files in `directory` (what the engine hands the provider)."""
    return {
        "source": SOURCE,
        "digest": flowfiles.digest(directory),
        "flows": flows_input(flowfiles.read(directory)),
        "editor_url": stack.url + "/",
        "token": token,
        "deployer": "pulumi:prod",
    }


def source_dir(tmp_path, marker: str, name: str = "src"):
    directory = tmp_path / name
    flowfiles.write(directory, marker_flow(marker) + whoami_flow(marker), {})
    return directory


def newest(stack) -> dict:
    return requests.get(stack.url + "/cluster/status", headers=admin(stack).headers(), timeout=10).json()["newest"]


def served(stack) -> str:
    return requests.get(stack.api_url + "/marker", timeout=10).json()["marker"]


def test_pulumi_up_deploys_the_source_once_and_preview_sees_changes_and_drift(locked, tmp_path, capfd):
    """create deploys the source as pulumi:prod and waits for every worker; diff: no change while the stack
    runs the source, a change with its summary when the files change; update deploys; an emergency rollback
    by a person shows as drift (same inputs, changes) that the next update undoes."""
    provider = FlowsProvider()
    first = props(locked, source_dir(tmp_path, "v1"))
    outs = provider.create(first).outs or {}
    rev = outs["flows_revision"]
    assert newest(locked)["rev"] == rev and newest(locked)["savedBy"] == "pulumi:prod"
    assert newest(locked)["deployType"] == "files"
    assert {w.healthz()["rev"] for w in locked.workers} == {rev}, "create returns once every worker serves it"
    assert served(locked) == "v1"

    assert provider.diff("flows/prod", first, first).changes is False
    assert "runs the flows of flows/prod" in capfd.readouterr().err

    second = props(locked, source_dir(tmp_path, "v2", "src2"))
    assert provider.diff("flows/prod", first, second).changes is True
    said = capfd.readouterr().err
    assert f"revision {rev} differs from flows/prod: deploying it changes tabs ~2, nodes ~3" in said
    assert newest(locked)["rev"] == rev, "a diff saves nothing"
    rev2 = (provider.update("flows/prod", first, second).outs or {})["flows_revision"]
    assert rev2 > rev and served(locked) == "v2"
    assert provider.diff("flows/prod", second, second).changes is False

    # An emergency rollback by a person, past the lock: the running revision is no longer the source.
    r = admin(locked).post("/cluster/rollback", json={"rev": rev})
    assert r.status_code == 201, r.text
    locked.wait_workers(r.json()["rev"])
    assert "flows locked to flows/prod: the next `pulumi up` deploys the source again" in locked.editor.log_text()
    assert provider.diff("flows/prod", second, second).changes is True
    assert "differs from flows/prod" in capfd.readouterr().err
    back = (provider.update("flows/prod", second, second).outs or {})["flows_revision"]
    assert back > r.json()["rev"] and served(locked) == "v2"

    # The same flows again (a create after `pulumi destroy` kept the database): nothing saved.
    again = provider.create(second).outs or {}
    assert again["flows_revision"] == back == newest(locked)["rev"]


def test_flows_the_editor_refuses_stop_preview_and_up_naming_file_and_node(locked, tmp_path):
    provider = FlowsProvider()
    directory = source_dir(tmp_path, "refused")
    tab_file = directory / "tabs" / "marker-marker--tab-marker.json"
    nodes = json.loads(tab_file.read_text())
    nodes[2]["type"] = "node-red-contrib-not-in-this-image"
    tab_file.write_text(json.dumps(nodes, indent=2))
    bad = props(locked, directory)
    before = newest(locked)["rev"] if newest(locked) else None
    for call in (lambda: provider.diff("flows/prod", bad, bad), lambda: provider.update("flows/prod", bad, bad)):
        with pytest.raises(Exception) as refused:
            call()
        text = str(refused.value)
        assert 'node types this image does not have: "node-red-contrib-not-in-this-image"' in text
        assert 'tabs/marker-marker--tab-marker.json: node "m-marker-fn"' in text
    assert (newest(locked)["rev"] if newest(locked) else None) == before


def test_an_editor_that_cannot_be_asked_compares_with_the_source_deployed_last(locked, tmp_path, capfd):
    """A preview while the editor is down (being replaced in the same update): the digest decides."""
    provider = FlowsProvider()
    one, two = props(locked, source_dir(tmp_path, "a", "a")), props(locked, source_dir(tmp_path, "b", "b"))
    gone = {**two, "editor_url": "http://127.0.0.1:9/"}
    assert provider.diff("flows/prod", one, gone).changes is True
    assert "comparing flows/prod with the flows deployed last: changed" in capfd.readouterr().err
    assert provider.diff("flows/prod", {**one, "digest": two["digest"]}, gone).changes is False
    assert "comparing flows/prod with the flows deployed last: same" in capfd.readouterr().err


def test_a_wrong_token_deploys_nothing(locked, tmp_path):
    before = newest(locked)
    with pytest.raises(Exception, match="refused"):
        FlowsProvider().create(props(locked, source_dir(tmp_path, "intruder"), token="x" * 48))
    assert newest(locked) == before


def people_deploy(stack, method: str, path: str, body, deployment_type: str | None = None) -> requests.Response:
    client = admin(stack)
    headers = client.headers(**({"Node-RED-Deployment-Type": deployment_type} if deployment_type else {}))
    return client.session.request(method, stack.url + path, json=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("method", "path", "body", "kind"),
    [
        ("POST", "/flows", {"flows": marker_flow("by hand")}, "full"),
        ("POST", "/flows", {"flows": marker_flow("by hand")}, "nodes"),
        ("POST", "/flows", {"flows": marker_flow("by hand")}, "flows"),
        ("POST", "/flow", {"id": "tab-new", "label": "by hand", "nodes": []}, None),
        ("PUT", "/flow/tab-marker", {"id": "tab-marker", "label": "by hand", "nodes": []}, None),
        ("DELETE", "/flow/tab-marker", None, None),
        ("POST", "/cluster/deploy", {"flows": marker_flow("by hand")}, None),
    ],
)
def test_every_deploy_by_a_person_answers_409_naming_the_source(locked, tmp_path, method, path, body, kind):
    if newest(locked) is None:
        FlowsProvider().create(props(locked, source_dir(tmp_path, "v1")))
    before = newest(locked)
    r = people_deploy(locked, method, path, body, kind)
    assert r.status_code == 409, r.text
    assert f"this stack's flows come from {SOURCE}" in r.text and "only `pulumi up` deploys them" in r.text
    assert newest(locked) == before


def test_restart_viewing_and_the_status_command_keep_working_but_its_deploy_is_refused(locked, tmp_path):
    FlowsProvider().create(props(locked, source_dir(tmp_path, "still")))
    before = newest(locked)
    r = people_deploy(locked, "POST", "/flows", {}, "reload")
    assert r.status_code == 200, r.text
    assert people_deploy(locked, "GET", "/flows", None).status_code == 200
    status = requests.get(locked.url + "/cluster/status", headers=admin(locked).headers(), timeout=10).json()
    assert (status["restarts"], status["restartedBy"]) == (1, locked.editor_user), "restart recorded for every instance"
    env = {**os.environ, "NODE_RED_PASSWORD": locked.editor_password}
    export = subprocess.run(
        [sys.executable, "-m", "nodered_status", "export", "--out", str(tmp_path / "out"), "--url", locked.url],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    deploy = subprocess.run(
        [sys.executable, "-m", "nodered_status", "deploy", str(tmp_path / "out"), "--url", locked.url],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert deploy.returncode == 5, deploy.stderr
    assert f"the editor refused: deploy refused, nothing saved: this stack's flows come from {SOURCE}" in deploy.stderr
    assert newest(locked)["rev"] == before["rev"]
    shutil.rmtree(tmp_path / "out")
