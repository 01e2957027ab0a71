"""A real browser (headless Chromium) uses the editor through the router."""

from __future__ import annotations

import json
import time
from pathlib import Path

from local_stack.flows import whoami_flow
from tests.browser.cdp import Browser

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "editor.png"
HOLD = 20  # s the websocket must stay up


def visible(selector: str) -> str:
    return (
        f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
        " return !!e && e.getClientRects().length > 0; })()"
    )


def test_editor_through_router_logs_in_shows_workspace_and_keeps_comms_connected(shared_stack, chromium):
    stack = shared_stack
    stack.deploy(whoami_flow("browser"))
    with Browser(chromium) as b:
        for domain in ("Page", "Network", "Runtime"):
            b.send(f"{domain}.enable")
        b.navigate(stack.router.url + "/")

        b.wait_for(visible("#node-dialog-login-username"), timeout=60)
        b.type_into("#node-dialog-login-username", stack.editor_user)
        b.type_into("#node-dialog-login-password", stack.editor_password)
        b.click("#node-dialog-login-submit")

        # The workspace: the flow tab deployed above, its nodes drawn, the palette filled.
        b.wait_for(visible("#red-ui-workspace-chart"), timeout=60)
        b.wait_for("document.querySelectorAll('#red-ui-workspace-chart .red-ui-flow-node').length >= 3", timeout=60)
        b.wait_for("document.querySelectorAll('.red-ui-palette-node').length > 10", timeout=60)
        assert not b.eval(visible("#node-dialog-login-fields"))
        tabs = b.eval(
            "Array.from(document.querySelectorAll('#red-ui-workspace-tabs .red-ui-tab-label'))"
            ".map(e => e.textContent.trim())"
        )
        assert "whoami" in tabs

        # The comms websocket went through the router and upgraded (101).
        created = b.wait_event("Network.webSocketCreated", pred=lambda p: p["url"].endswith("/comms"))
        comms_id = created["params"]["requestId"]
        assert created["params"]["url"] == stack.router.url.replace("http://", "ws://") + "/comms"
        hs = b.wait_event("Network.webSocketHandshakeResponseReceived", pred=lambda p: p["requestId"] == comms_id)
        assert hs["params"]["response"]["status"] == 101

        held_from = time.monotonic()
        time.sleep(HOLD / 2)
        # A deploy made elsewhere is pushed to the open editor over that websocket.
        stack.deploy(whoami_flow("browser-2"))
        time.sleep(HOLD / 2)
        closed = [e for e in b.events_named("Network.webSocketClosed") if e["params"]["requestId"] == comms_id]
        assert closed == [], "the editor's comms websocket closed"
        comms = [e for e in b.events_named("Network.webSocketCreated") if e["params"]["url"].endswith("/comms")]
        assert len(comms) == 1, f"the editor reconnected its websocket {len(comms) - 1} times"
        frames = [
            e
            for e in b.events_named("Network.webSocketFrameReceived")
            if e["params"]["requestId"] == comms_id and e["at"] >= held_from
        ]
        assert any("notification/runtime-deploy" in e["params"]["response"]["payloadData"] for e in frames), (
            "the editor was not told of the deploy over its websocket"
        )
        notices = b.eval("Array.from(document.querySelectorAll('.red-ui-notification')).map(e => e.textContent.trim())")
        assert not [n for n in notices if "Lost connection" in n], notices

        b.screenshot(SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 10_000
