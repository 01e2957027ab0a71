"""The editor's debug sidebar in a real browser (Playwright driving the system's Chromium), through the
router: workers' debug messages appear, each marked with its instance, and the sidebar shows one
instance's messages when asked.

Guards: debug output of the workers that serve the traffic never reached the sidebar; with it there,
messages from N instances (inject nodes run on every one) could not be told apart or filtered."""

from __future__ import annotations

import uuid
from pathlib import Path

import requests

from local_stack.debug_flows import debug_flow
from tests.ci import missing_tool

try:
    from playwright import sync_api as playwright
except ImportError:  # requirements-dev.txt installs it; the browser is the system's Chromium
    playwright = None

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "debug-sidebar.png"


def test_sidebar_marks_each_message_with_its_instance_and_filters_by_instance(shared_stack, chromium):
    if playwright is None:
        missing_tool("playwright is not installed (pip install -r requirements-dev.txt)")
    stack = shared_stack
    stack.deploy(debug_flow())
    w1, w2 = stack.workers[0], stack.workers[1]
    t1, t2 = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(stack.url + "/")
            page.fill("#node-dialog-login-username", stack.editor_user)
            page.fill("#node-dialog-login-password", stack.editor_password)
            page.click("#node-dialog-login-submit")
            page.wait_for_selector("#red-ui-workspace-chart .red-ui-flow-node", timeout=60_000)
            page.evaluate("RED.sidebar.show('debug')")
            page.wait_for_selector("#nrs-instance-filter", state="attached", timeout=30_000)

            for worker, t in ((w1, t1), (w2, t2)):
                assert requests.get(f"{worker.node_url}/dbg/probe/{t}", timeout=10).status_code == 200
            one = page.locator(".red-ui-debug-msg", has_text=t1)
            two = page.locator(".red-ui-debug-msg", has_text=t2)
            one.wait_for(timeout=15_000)
            two.wait_for(timeout=15_000)
            assert one.locator(".nrs-instance-badge").inner_text() == w1.instance_id
            assert two.locator(".nrs-instance-badge").inner_text() == w2.instance_id
            # The node link still names the debug node, found by its id in the editor's flows.
            assert "probe" in one.locator(".red-ui-debug-msg-name").inner_text()

            page.select_option("#nrs-instance-filter", w1.instance_id)
            assert one.is_visible() and not two.is_visible()
            page.select_option("#nrs-instance-filter", "")
            assert one.is_visible() and two.is_visible()
            page.select_option("#nrs-instance-filter", w2.instance_id)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
            assert two.is_visible() and not one.is_visible()
        finally:
            browser.close()
