"""The shared-atomic palette node in a real browser (Playwright driving the system's Chromium) through the
router: the palette lists it under its category "nodered-scale", it can be dragged onto a flow, and its
edit dialog offers the five operations, shows the fields of the one chosen and gives lock two outputs.

Guards: the shared store's atomic operations usable from function nodes only (no node in the editor's
palette), and an edit dialog that cannot configure them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "shared-atomic-node.png"
NODE = '#red-ui-palette-container-nodered_scale .red-ui-palette-node[data-palette-type="shared-atomic"]'


def test_shared_atomic_node_is_in_the_palette_and_its_dialog_offers_the_operations(shared_stack, browser):
    stack = shared_stack
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.goto(stack.router.url + "/")
        page.fill("#node-dialog-login-username", stack.editor_user, timeout=60_000)
        page.fill("#node-dialog-login-password", stack.editor_password)
        page.click("#node-dialog-login-submit")
        page.wait_for_selector("#red-ui-workspace-chart", state="visible", timeout=60_000)

        # In the palette, under its own category.
        node = page.locator(NODE)
        node.wait_for(state="visible", timeout=60_000)
        header = page.locator("#red-ui-palette-header-nodered_scale")
        assert header.inner_text().strip() == "nodered-scale"
        assert " ".join(node.inner_text().split()) == "shared atomic"

        # Dragged onto the workspace.
        before = page.evaluate("RED.nodes.filterNodes({type: 'shared-atomic'}).length")
        node.drag_to(page.locator("#red-ui-workspace-chart"), target_position={"x": 400, "y": 200})
        page.wait_for_function(f"RED.nodes.filterNodes({{type: 'shared-atomic'}}).length === {before + 1}")
        added = page.evaluate("RED.nodes.filterNodes({type: 'shared-atomic'}).at(-1).id")
        assert page.evaluate(f"RED.nodes.node('{added}').outputs") == 1, "incr, the default, has one output"

        # Its edit dialog: the operations, the fields of the chosen one.
        page.evaluate(f"RED.editor.edit(RED.nodes.node('{added}'))")
        page.wait_for_selector("#node-input-operation", state="visible")
        options = page.eval_on_selector_all("#node-input-operation option", "os => os.map(o => o.value)")
        assert options == ["incr", "compareAndSet", "deleteIfEqual", "lock", "unlock"]
        assert page.is_visible(".shared-atomic-row-n") and not page.is_visible(".shared-atomic-row-ttl")
        page.select_option("#node-input-operation", "lock")
        # The key's typed input: what a user types into (the field Node-RED keeps is hidden behind it).
        key = page.locator("#node-input-key + .red-ui-typedInput-container input.red-ui-typedInput-input")
        key.fill("order-lock")
        key.press("Tab")  # the dialog checks a field when it changes
        assert page.is_visible(".shared-atomic-row-ttl") and page.is_visible(".shared-atomic-row-token")
        assert not page.is_visible(".shared-atomic-row-n") and not page.is_visible(".shared-atomic-row-expected")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        assert SCREENSHOT.stat().st_size > 10_000

        page.click("#node-dialog-ok")
        page.wait_for_selector("#node-input-operation", state="detached")
        saved = page.evaluate(f"(n => [n.operation, n.key, n.outputs])(RED.nodes.node('{added}'))")
        assert saved == ["lock", "order-lock", 2], "lock: granted and refused outputs"
    finally:
        page.close()
