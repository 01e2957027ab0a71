"""The editor's Cluster sidebar in a real browser (Playwright driving the system's Chromium), through the
router: the workers and the revision each serves right after a deploy, pushed by the editor (the page
never asks for the status itself); a notice for a revision that failed on the workers, and for one that
has not reached a worker within a few seconds; a rollback from the tab's history that every worker then
serves.

Guards: the editor showed no sign of the workers: which revision each serves, whether a deploy reached
them, which one failed and why; history and rollback existed on the command line only."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from local_stack.flows import whoami_flow

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-artifacts" / "cluster-sidebar.png"
MISSING = "node-red-contrib-not-in-this-image"


@pytest.fixture
def page(own_stack, browser):
    """The editor, logged in, with the Cluster tab shown; page.status_requests: what it asked of /cluster/status."""
    p = browser.new_page(viewport={"width": 1400, "height": 1000})
    p.status_requests = []
    p.on("request", lambda r: p.status_requests.append(r.url) if "/cluster/status" in r.url else None)
    p.goto(own_stack.url + "/")
    p.fill("#node-dialog-login-username", own_stack.editor_user)
    p.fill("#node-dialog-login-password", own_stack.editor_password)
    p.click("#node-dialog-login-submit")
    p.wait_for_selector("#red-ui-workspace-chart", timeout=60_000)
    p.wait_for_function("window.RED && RED.sidebar && RED.sidebar.containsTab('nodered-scale-cluster')", timeout=60_000)
    p.evaluate("RED.sidebar.show('nodered-scale-cluster')")
    p.wait_for_selector("#nrs-cluster-instances tr[data-instance]", timeout=30_000)
    yield p
    p.close()


def serves(page, instance: str, rev: int, timeout: float = 15_000) -> None:
    """Waits until the tab lists `instance` on revision `rev`, running."""
    page.wait_for_function(
        """([id, rev]) => {
            const row = document.querySelector(`#nrs-cluster-instances tr[data-instance="${id}"]`);
            return row && row.querySelector('td.nrs-rev').textContent === String(rev)
                && row.textContent.includes('running');
        }""",
        arg=[instance, rev],
        timeout=timeout,
    )


def widen_sidebar(page) -> None:
    """The screenshot's layout: a wider sidebar, the Cluster tab's section taller than the debug one."""
    handle = page.locator("#red-ui-sidebar-separator .red-ui-sidebar-separator-handle")
    box = handle.bounding_box()
    if box:
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 300)
        page.mouse.down()
        page.mouse.move(box["x"] - 220, box["y"] + 300, steps=8)
        page.mouse.up()
    split = page.locator("#red-ui-sidebar .red-ui-sidebar-section-separator .red-ui-sidebar-separator-handle")
    box = split.bounding_box() if split.count() else None
    if box:
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 420, steps=8)
        page.mouse.up()


def test_the_tab_shows_a_deploy_reach_every_worker_a_failure_and_a_rollback_from_it(own_stack, page):
    stack = own_stack
    good = stack.deploy(whoami_flow("good"))
    rev = stack.deploy(whoami_flow("new"))
    # Right after the deploy: the 3 workers on the new revision, pushed by the editor.
    for w in stack.workers:
        serves(page, w.instance_id, rev)
    page.wait_for_function(
        "t => document.querySelector('#nrs-cluster-verdict').textContent === t",
        arg=f"In sync: all 3 workers serve revision {rev}",
        timeout=10_000,
    )
    assert page.status_requests == [], "the page polled the status instead of taking what the editor pushes"

    # A revision that cannot start on any worker: the notice names it and why, at once.
    bad = stack.insert_revision(whoami_flow("bad") + [{"id": "x1", "type": MISSING, "z": "tab-whoami", "wires": []}])
    notice = page.locator("#nrs-cluster-notice")
    notice.wait_for(state="visible", timeout=20_000)
    page.wait_for_function(
        "t => document.querySelector('#nrs-cluster-notice').textContent.includes(t)",
        arg=f"Revision {bad} failed on 3 of 3 workers",
        timeout=20_000,
    )
    assert f"missing node types: {MISSING}" in notice.inner_text()

    # Roll back to the good revision from the tab's history, confirmed.
    page.locator(f'#nrs-cluster-history tr.nrs-rev-row[data-rev="{bad}"]').wait_for(timeout=15_000)
    page.click(f'#nrs-cluster-history button.nrs-rollback[data-rev="{good}"]')
    page.click("#nrs-cluster-rollback-confirm")
    back = bad + 1
    for w in stack.workers:
        serves(page, w.instance_id, back, timeout=30_000)
    stack.wait_workers(back)
    notice.wait_for(state="hidden", timeout=10_000)
    row = page.locator(f'#nrs-cluster-history tr.nrs-rev-row[data-rev="{back}"]')
    row.wait_for(timeout=15_000)
    assert f"{stack.editor_user}," in row.inner_text() and f"rollback of {good}" in row.inner_text()

    # A page opened now gets the state the editor keeps (retained), and shows what the rollback changed, as
    # the README's screenshot has it.
    page.reload()
    page.wait_for_function(
        "window.RED && RED.sidebar && RED.sidebar.containsTab('nodered-scale-cluster')", timeout=60_000
    )
    page.evaluate("RED.sidebar.show('nodered-scale-cluster')")
    for w in stack.workers:
        serves(page, w.instance_id, back)
    page.click(f'#nrs-cluster-history tr.nrs-changes-row[data-rev="{back}"] td.nrs-changes')
    page.wait_for_function(
        "() => document.querySelector('#nrs-cluster-diff').textContent.startsWith('changes from revision')",
        timeout=10_000,
    )
    assert f"- {MISSING}" in page.inner_text("#nrs-cluster-diff")
    widen_sidebar(page)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert page.status_requests == []


def test_a_deploy_that_has_not_reached_a_worker_within_seconds_gets_a_notice(own_stack, page):
    stack = own_stack
    stack.deploy(whoami_flow(uuid.uuid4().hex[:8]))
    frozen = stack.workers[2]
    frozen.pause()
    try:
        rev = stack.admin().deploy(whoami_flow(uuid.uuid4().hex[:8]))
        notice = page.locator("#nrs-cluster-notice")
        page.wait_for_function(
            "t => document.querySelector('#nrs-cluster-notice').textContent.includes(t)",
            arg=f"Revision {rev} (saved",
            timeout=20_000,
        )
        text = notice.inner_text()
        assert "has not reached every worker" in text and f"{frozen.instance_id}: behind" in text
        assert all(w.instance_id not in text for w in stack.workers[:2])
    finally:
        frozen.resume()
    stack.wait_workers(rev)
    serves(page, frozen.instance_id, rev, timeout=30_000)
    notice.wait_for(state="hidden", timeout=10_000)
