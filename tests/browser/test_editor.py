"""A real browser (headless Chromium, driven by Playwright) uses the editor through the router: it logs in,
shows the workspace, and keeps its comms websocket connected while a deploy made elsewhere is pushed to it.

Guards: the editor unusable through the router (login, static files, the websocket upgrade), and a comms
websocket the router closes while idle, which the editor shows as "Lost connection" and reconnects."""

from __future__ import annotations

import time
from pathlib import Path

from local_stack.flows import whoami_flow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "editor.png"
HOLD = 20  # s the websocket must stay up


def until(page, condition, what: str, timeout: float = 30.0) -> None:
    """Wait for `condition()`; Playwright delivers the page's events while the page waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(50)


def test_editor_through_router_logs_in_shows_workspace_and_keeps_comms_connected(shared_stack, browser):
    stack = shared_stack
    stack.deploy(whoami_flow("browser"))
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    # Every websocket the page opens, with the frames it receives (time, payload) and whether it closed.
    sockets: list[dict] = []

    def opened(ws) -> None:
        seen: dict = {"url": ws.url, "frames": [], "closed": False}
        ws.on("framereceived", lambda payload: seen["frames"].append((time.monotonic(), payload)))
        ws.on("close", lambda _: seen.__setitem__("closed", True))
        sockets.append(seen)

    page.on("websocket", opened)
    page.goto(stack.router.url + "/")
    page.fill("#node-dialog-login-username", stack.editor_user, timeout=60_000)
    page.fill("#node-dialog-login-password", stack.editor_password)
    page.click("#node-dialog-login-submit")

    # The workspace: the flow tab deployed above, its nodes drawn, the palette filled.
    page.wait_for_selector("#red-ui-workspace-chart", state="visible", timeout=60_000)
    page.wait_for_function(
        "document.querySelectorAll('#red-ui-workspace-chart .red-ui-flow-node').length >= 3", timeout=60_000
    )
    page.wait_for_function("document.querySelectorAll('.red-ui-palette-node').length > 10", timeout=60_000)
    assert not page.is_visible("#node-dialog-login-fields")
    tabs = [t.strip() for t in page.locator("#red-ui-workspace-tabs .red-ui-tab-label").all_text_contents()]
    assert "whoami" in tabs

    # The comms websocket went through the router and was upgraded: frames arrive on it.
    comms_url = stack.router.url.replace("http://", "ws://") + "/comms"
    until(page, lambda: any(s["frames"] for s in sockets if s["url"] == comms_url), "a frame on the comms websocket")
    comms = [s for s in sockets if s["url"].endswith("/comms")]
    assert [s["url"] for s in comms] == [comms_url]

    held_from = time.monotonic()
    page.wait_for_timeout(HOLD / 2 * 1000)
    # A deploy made elsewhere is pushed to the open editor over that websocket.
    stack.deploy(whoami_flow("browser-2"))
    page.wait_for_timeout(HOLD / 2 * 1000)
    assert not comms[0]["closed"], "the editor's comms websocket closed"
    reconnects = [s for s in sockets if s["url"].endswith("/comms")]
    assert len(reconnects) == 1, f"the editor reconnected its websocket {len(reconnects) - 1} times"
    pushed = [p for at, p in comms[0]["frames"] if at >= held_from]
    assert any("notification/runtime-deploy" in str(p) for p in pushed), "the editor was not told of the deploy"
    notices = page.locator(".red-ui-notification").all_text_contents()
    assert not [n for n in notices if "Lost connection" in n], notices

    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
