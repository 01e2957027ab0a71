"""A debug flood from unauthenticated requests through the router (about 200 a second, each giving a
debug node a 61 KiB message; later also a steady stream of small ones from another flow), while a
logged-in editor session reads its websocket slowly, another reads normally, and a quiet flow on the
same workers warns once a second: what the flood costs the editor's memory, the database and the
other flows' messages. One flood (local_stack.debug_flood.flood) serves the three tests.

This stack's workers forward up to NODE_RED_DEBUG_FORWARD_KIB=512 a second each (default 64): the
kernel's socket buffers between the editor, nginx and the slow reader hold several MiB, and at the
default budget the flood would take a minute to fill them and reach what the editor itself holds."""

from __future__ import annotations

import pytest

from local_stack.debug_flood import FloodRun, flood
from local_stack.debug_flows import debug_flow
from tests.fixtures.stacks import make_stack

FLOOD_SECONDS = 12
QUIET_SECONDS = 10
BUDGET_KIB = 512
WORKERS = 3
RSS_GROWTH_MIB = 64


@pytest.fixture(scope="module")
def flood_stack(request, tmp_path_factory, mongo_server):
    env = {"NODE_RED_DEBUG_FORWARD_KIB": str(BUDGET_KIB)}
    stacks = make_stack(request, tmp_path_factory, "debug-flood", workers=WORKERS, mongo=mongo_server, extra_env=env)
    stack = next(stacks)
    try:
        stack.deploy(debug_flow())
        yield stack
    finally:
        next(stacks, None)


@pytest.fixture(scope="module")
def flood_run(flood_stack) -> FloodRun:
    run = flood(flood_stack, FLOOD_SECONDS, QUIET_SECONDS)
    print(f"\ndebug flood: {run}")
    return run


def test_a_slow_editor_session_costs_bounded_memory_and_is_told_what_it_missed(flood_run):
    """Guards: Node-RED's comms queued every debug message for a session that read slowly (into its own
    queue and the socket) without limit: the editor grew by hundreds of MiB during a flood and kept it
    after the socket closed. Now such a session is sent no more debug messages while it is behind,
    one notice in its sidebar says how many it missed, and a normal session alongside gets all."""
    run = flood_run
    assert run.requests[200] > 0, f"the flood was answered: {dict(run.requests)}"
    growth = run.rss_peak - run.rss_before
    assert growth < RSS_GROWTH_MIB, f"the editor grew by {growth:.0f} MiB during the flood ({run})"
    assert run.slow_notice, (
        f"no drop notice in the slow session ({run.slow_received} bytes read, closed: {run.slow_closed})"
    )
    assert not run.slow_closed
    assert run.editor_dropped["slow"] > 0
    assert run.quiet_missing == [], "the normal session missed messages"


def test_a_quiet_flows_warnings_all_arrive_while_another_flow_floods(flood_run):
    """Guards: the per-worker budget was shared by all flows: a flood from one flow used it up and
    warnings of another flow on the same workers were dropped (34 of 45 arrived). Now each flow gets
    its share: every warning of the quiet flow reaches the editor."""
    run = flood_run
    assert len(run.quiet_tags) >= FLOOD_SECONDS + QUIET_SECONDS - 3
    assert run.workers_dropped["rate"] + run.workers_dropped["bytes"] > 0, "the flood was not over the budget"
    assert run.quiet_missing == [], f"{len(run.quiet_missing)} of {len(run.quiet_tags)} quiet warnings missing"


def test_stored_debug_bytes_stay_under_the_per_worker_budget(flood_run):
    """Guards: the `debug` collection took whatever the message rate let through (50 a second of 64 KiB
    per worker: hundreds of MiB within a minute, and round trips of everything else slowed down). Now
    each worker writes at most NODE_RED_DEBUG_FORWARD_KIB a second (bursts of as much again), so what
    is stored after t seconds of flood stays under workers x budget x (t + 1), BSON as stored (docs/observability.md:
    "Debug output of the workers, in the editor")."""
    run = flood_run
    bound = WORKERS * BUDGET_KIB * 1024 * (run.seconds + 1)
    assert run.stored_docs > 0
    assert run.stored_bytes <= bound, (
        f"{run.stored_bytes / 2**20:.1f} MiB stored in {run.seconds:.1f} s, bound {bound / 2**20:.1f} MiB"
    )
