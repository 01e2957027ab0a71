"""The editor of a stack whose flows come from files (stack config flows.source, docs/flows-as-code.md) in a
real browser (Playwright driving the system's Chromium), through the router: the lock shows as soon as the
editor loads (a notice and the header naming the source, Deploy disabled, after an edit too, and its
shortcut shows the notice); a deploy the page sends anyway is refused with the message; restarting the
flows still works; the Cluster sidebar names the nodes whose credentials the stack lacks.

Guards: people editing prod in its editor while `pulumi up` defines it, and finding out only when the
next `up` undid their work; a deploy from files whose missing credentials nobody sees."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pytest
import requests

from local_stack.flows import credentials_flow, marker_flow
from nodered_status import flowfiles
from tests.fixtures.stacks import make_stack

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "flows-lock.png"
TOKEN = "browser-flows-deploy-token-0123456789abcdef"
LOCK = {
    "NODE_RED_FLOWS_SOURCE": "flows/prod",
    "NODE_RED_FLOWS_DEPLOYER": "pulumi:prod",
    "NODE_RED_FLOWS_DEPLOY_TOKEN_HASH": hashlib.sha256(TOKEN.encode()).hexdigest(),
}


@pytest.fixture(scope="module")
def locked(request, tmp_path_factory, mongo_server):
    yield from make_stack(request, tmp_path_factory, "browser-locked", workers=1, mongo=mongo_server, extra_env=LOCK)


def deploy_from_files(stack, tmp_path) -> int:
    """What `pulumi up` sends: flows whose index lists a credentialed node this stack has no credentials for."""
    flows = [
        {k: v for k, v in n.items() if k != "credentials"}
        for n in marker_flow("from files") + credentials_flow("u", "p")
    ]
    flowfiles.write(tmp_path, flows, {"c-secure-req": {"user": "stored", "password": "stored"}})
    r = requests.post(
        stack.url + "/cluster/deploy",
        json={**flowfiles.read(tmp_path).body(), "message": "flows/prod by pulumi up"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    stack.wait_workers(r.json()["rev"])
    return r.json()["rev"]


def status(stack, admin) -> dict:
    return requests.get(stack.url + "/cluster/status", headers=admin.headers(), timeout=10).json()


def test_the_editor_shows_the_lock_refuses_a_deploy_and_restarts(locked, browser, tmp_path):
    rev = deploy_from_files(locked, tmp_path)
    admin = locked.admin()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(locked.url + "/")
        page.fill("#node-dialog-login-username", locked.editor_user)
        page.fill("#node-dialog-login-password", locked.editor_password)
        page.click("#node-dialog-login-submit")
        page.wait_for_selector("#red-ui-workspace-chart", timeout=60_000)
        # As soon as it loads: the notice naming the source, the header, Deploy disabled.
        notice = page.locator("#nrs-flows-lock-notice")
        notice.wait_for(state="visible", timeout=30_000)
        assert notice.inner_text().startswith(
            "This stack's flows come from flows/prod in its Pulumi project and only `pulumi up` deploys them "
            "(as pulumi:prod): Deploy is disabled here"
        )
        assert page.inner_text("#nrs-flows-lock-badge") == "Flows from flows/prod (pulumi up)"
        deploy = page.locator("#red-ui-header-button-deploy")
        assert "disabled" in (deploy.get_attribute("class") or "")

        # The Cluster sidebar: the newest revision, from files, lacks the credentials of a node.
        page.wait_for_function("window.RED && RED.sidebar && RED.sidebar.containsTab('nodered-scale-cluster')")
        page.evaluate("RED.sidebar.show('nodered-scale-cluster')")
        credentials = page.locator("#nrs-cluster-credentials")
        credentials.wait_for(state="visible", timeout=30_000)
        text = credentials.inner_text()
        assert (
            f"Revision {rev}, deployed from files by pulumi:prod, has nodes whose credentials this stack lacks" in text
        )
        assert 'http request "call protected" on tab-secure: password, user' in text
        assert "${NAME} references in flows/prod" in text
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))

        # An edit makes the workspace dirty, which enables Deploy in Node-RED: it stays disabled here.
        page.click(".red-ui-notification:has(#nrs-flows-lock-notice) button")  # close the notice (its OK button)
        notice.wait_for(state="detached", timeout=10_000)
        page.evaluate("RED.view.importNodes([{id: 'by-hand', type: 'comment', name: 'by hand', wires: []}])")
        page.mouse.click(500, 400)  # drops the imported node on the workspace
        page.wait_for_function("RED.nodes.dirty() === true && RED.nodes.node('by-hand') !== null", timeout=10_000)
        assert "disabled" in (deploy.get_attribute("class") or "")
        deploy.click(force=True)
        # Its shortcut (the action behind Deploy) shows the notice again instead.
        page.evaluate("RED.actions.invoke('core:deploy-flows')")
        notice.wait_for(state="visible", timeout=10_000)
        assert status(locked, admin)["newestRev"] == rev

        # A deploy the page sends anyway, as the editor would: refused, the message says why.
        answer = page.evaluate(
            """() => new Promise((resolve) => $.ajax({url: 'flows', type: 'POST', contentType: 'application/json',
                data: JSON.stringify({flows: RED.nodes.createCompleteNodeSet()}),
                headers: {'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v2'}})
                .always((a, b, c) => { const x = a && a.status ? a : c; resolve([x.status, x.responseText]); }))"""
        )
        assert answer[0] == 409 and "this stack's flows come from flows/prod" in answer[1]
        assert status(locked, admin)["newestRev"] == rev

        # Restart flows, from the deploy menu, still works: recorded on the revision for every instance.
        page.click("#red-ui-header-button-deploy-options")
        page.click("#deploymenu-item-reload")
        deadline = time.monotonic() + 20
        while status(locked, admin)["restarts"] != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (status(locked, admin)["restarts"], status(locked, admin)["newestRev"]) == (1, rev)
    finally:
        page.close()
        shutil.rmtree(tmp_path, ignore_errors=True)
