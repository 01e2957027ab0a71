"""Single sign-on to the editor in a real browser (Playwright driving the system's Chromium), through the
router, against a real OpenID Connect provider on loopback (oidc-provider from npm, local_stack/oidc.py):
a user of the admin group deploys; a user of the read group sees the editor and the Cluster sidebar
without a rollback and gets 403 on deploy; a user of neither group gets a page saying so; with the
provider down the login page says so while the flows keep serving; local users still log in on the
command line (break-glass). Each login lands in the audit trail.

Guards: one shared password for everyone, no single sign-on, no read-only access, and nothing recording
who logged in (docs/editor-access.md)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests

from local_stack import LocalStack
from local_stack.admin import AdminClient
from local_stack.flows import whoami_flow
from local_stack.oidc import OidcProvider
from local_stack.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts"
ACCOUNTS = {"alice": ["nodered-admins", "staff"], "bob": ["nodered-readers"], "carol": ["staff"]}
# Only the stack and the provider on loopback: the provider's page asks for a web font, never fetched.
LOOPBACK_ONLY = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")


@pytest.fixture(scope="module")
def sso(tmp_path_factory):
    """A stack with a local admin (the one-admin shorthand) and single sign-on, and its provider."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    idp = OidcProvider(ACCOUNTS, redirect_uri=url + "/auth/strategy/callback").start()
    stack = LocalStack(
        workers=1, router_port=port, base_dir=tmp_path_factory.mktemp("sso"), editor_env=idp.editor_env(url + "/")
    )
    try:
        stack.start()
        stack.deploy(whoami_flow("before sso"))
        yield stack, idp
    finally:
        stack.close()
        idp.stop()


def login(browser, stack: LocalStack, who: str):
    """A new browser session through the editor's login button and the provider's login page."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.route(LOOPBACK_ONLY, lambda route: route.abort())
    page = context.new_page()
    page.goto(stack.url + "/")
    page.click("#node-dialog-login-fields a.red-ui-button", timeout=60_000)
    page.fill("input[name=login]", who, timeout=30_000)
    page.fill("input[name=password]", "any password: the test provider's own page")
    page.click("button[type=submit]")
    return page


def editor_loaded(page) -> None:
    page.wait_for_selector("#red-ui-workspace-chart", timeout=60_000)
    page.wait_for_function(
        "window.RED && RED.settings && RED.settings.user && RED.settings.user.username", timeout=30_000
    )


DEPLOY = """async (flows) => {
    const r = await fetch('flows', {method: 'POST', body: JSON.stringify({flows}), headers: {
        'Content-Type': 'application/json', 'Node-RED-API-Version': 'v2',
        'Authorization': 'Bearer ' + RED.settings.get('auth-tokens').access_token}});
    return {status: r.status, rev: r.headers.get('X-Flows-Revision'), body: await r.text()};
}"""


def audit(stack: LocalStack) -> list[dict]:
    r = stack.admin().get("/cluster/audit", params={"since": "1h"})
    r.raise_for_status()
    return r.json()["records"]


def test_the_login_page_offers_the_provider_and_an_admin_group_user_deploys(sso, browser):
    stack, _ = sso
    context = browser.new_context(viewport={"width": 1000, "height": 640})
    context.route(LOOPBACK_ONLY, lambda route: route.abort())
    page = context.new_page()
    page.goto(stack.url + "/")
    button = page.wait_for_selector("#node-dialog-login-fields a.red-ui-button", timeout=60_000)
    assert button.inner_text().strip() == "Sign in with the test provider"
    assert page.locator("#node-dialog-login-password").count() == 0, "the browser's login is the provider's"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "editor-sso-login.png"))
    context.close()

    page = login(browser, stack, "alice")
    editor_loaded(page)
    assert page.evaluate("RED.settings.user") == {"username": "alice", "permissions": "*"}
    result = page.evaluate(DEPLOY, whoami_flow("deployed by alice"))
    assert result["status"] == 200, result
    rev = int(result["rev"])
    stack.wait_workers(rev)
    assert requests.get(stack.api_url + "/whoami", timeout=10).json()["marker"] == "deployed by alice"
    records = audit(stack)
    assert any(r["event"] == "login" and r["user"] == "alice" and r["via"] == "sso" for r in records), records
    [deploy] = [r for r in records if r["event"] == "deploy" and r["rev"] == rev]
    assert (deploy["user"], deploy["via"], deploy["client"]) == ("alice", "sso", "127.0.0.1")
    # Manage palette says where nodes come from instead of offering an install that cannot work.
    page.evaluate("RED.actions.invoke('core:manage-palette')")
    notice = page.wait_for_selector("#red-ui-settings-tab-nodered-scale-palette", timeout=15_000).inner_text()
    assert "image.extraNodes" in notice and "Installing, updating or removing nodes here is off" in notice, notice
    page.screenshot(path=str(SHOTS / "editor-palette.png"))
    page.context.close()


def test_a_read_group_user_sees_the_editor_and_the_cluster_but_a_deploy_is_refused(sso, browser):
    stack, _ = sso
    page = login(browser, stack, "bob")
    editor_loaded(page)
    assert page.evaluate("RED.settings.user") == {"username": "bob", "permissions": "read"}
    assert page.evaluate("RED.user.hasPermission('flows.write')") is False
    # The Cluster sidebar shows the instances and the history, without a rollback.
    page.wait_for_function("RED.sidebar.containsTab('nodered-scale-cluster')", timeout=30_000)
    page.evaluate("RED.sidebar.show('nodered-scale-cluster')")
    page.wait_for_selector("#nrs-cluster-instances tr[data-instance]", timeout=30_000)
    page.wait_for_selector(".nrs-history tr", timeout=30_000)
    assert page.locator("text=Roll back").count() == 0
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "editor-read-only.png"))
    result = page.evaluate(DEPLOY, whoami_flow("deployed by bob"))
    assert result["status"] == 403, result
    assert "bob" in result["body"] and "read role" in result["body"]
    assert requests.get(stack.api_url + "/whoami", timeout=10).json()["marker"] != "deployed by bob"
    page.context.close()


def test_a_user_in_neither_group_gets_a_page_that_says_so(sso, browser):
    stack, _ = sso
    page = login(browser, stack, "carol")
    reason = page.wait_for_selector("#reason", timeout=30_000)
    assert "carol" in reason.inner_text() and "none of the groups" in reason.inner_text()
    assert page.title() == "Node-RED: no access"
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "editor-sso-refused.png"))
    # No session was made: the editor's own page asks for a login again.
    page.click("text=Back to the login page")
    page.wait_for_selector("#node-dialog-login-fields a.red-ui-button", timeout=30_000)
    failed = [r for r in audit(stack) if r["event"] == "login.failed" and r["user"] == "carol"]
    assert failed and failed[-1]["via"] == "sso" and "staff" in failed[-1]["detail"], failed
    page.context.close()


def test_local_users_still_log_in_on_the_command_line(sso):
    """Break-glass: the browser's login is the provider's, the token endpoint still takes a local user's
    password (the status command, node-red-admin, scripts)."""
    stack, _ = sso
    admin = AdminClient(stack.url, stack.editor_user, stack.editor_password)
    admin.login()
    rev = admin.deploy(whoami_flow("break-glass"))
    assert rev is not None
    wrong = requests.post(
        stack.url + "/auth/token",
        data={
            "client_id": "node-red-admin",
            "grant_type": "password",
            "scope": "*",
            "username": "admin",
            "password": "nope-nope",
        },
        timeout=10,
    )
    assert wrong.status_code == 403


def test_a_provider_that_is_down_is_named_on_the_login_page_and_the_flows_keep_serving(sso, browser):
    stack, idp = sso
    idp.stop()
    try:
        # The editor checks the provider at most every 2 s: the login page names it once that check ran.
        deadline = time.monotonic() + 30
        while requests.get(stack.url + "/auth/login", timeout=10).json().get("type") != "unavailable":
            assert time.monotonic() < deadline, "the login page still offers a provider that is down"
            time.sleep(0.2)
        context = browser.new_context(viewport={"width": 1000, "height": 640})
        context.route(LOOPBACK_ONLY, lambda route: route.abort())
        page = context.new_page()
        page.goto(stack.url + "/")
        message = page.wait_for_selector("#node-dialog-login-fields >> text=cannot be reached", timeout=60_000)
        assert idp.issuer in message.inner_text()
        page.screenshot(path=str(SHOTS / "editor-sso-unavailable.png"))
        assert requests.get(stack.api_url + "/whoami", timeout=10).status_code == 200
        assert stack.editor.wait_ready(timeout=10) is not False
        # Local users are not affected either.
        AdminClient(stack.url, stack.editor_user, stack.editor_password).login()
        context.close()
    finally:
        idp.start()
