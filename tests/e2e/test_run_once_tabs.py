"""Run-once tabs on the whole stack (editor, 3 workers, router): a 1 s timer in a tab with
CLUSTER_RUN_ON=leader ticks about once a second for the whole stack, on one instance at a time, keeps
ticking after that instance is SIGKILLed, and its "inject once" fires once per leadership; every other
tab runs everywhere.

Guards: an inject timer that fired on all 3 workers and the editor (N+1 times per period), an "inject
once" that fired again on every worker, and a stack whose timers stop for good when one worker dies."""

from __future__ import annotations

import time

import pymongo
import pytest

from local_stack.cluster_flows import ticker_flow
from local_stack.collector import Collector, runs
from tests.fixtures.run_once import FAILOVER_SECONDS, RunOnceCluster


@pytest.fixture(scope="module")
def collector():
    with Collector() as c:
        yield c


@pytest.fixture(scope="module")
def deployed(own_stack, collector):
    flows = ticker_flow(collector.url) + ticker_flow(
        collector.url, run_on=None, tab_id="tab-everywhere", label="everywhere", prefix="all-"
    )
    since = time.monotonic()
    rev = own_stack.deploy(flows)
    own_stack.editor.wait_ready(rev=rev)
    return since


def leaders(stack) -> list:
    return [i for i in [stack.editor, *stack.workers] if i.running() and i.healthz()["leader"]]


def test_a_leader_tab_ticks_once_a_second_for_the_stack_and_other_tabs_everywhere(own_stack, collector, deployed):
    everyone = {own_stack.editor.instance_id, *(w.instance_id for w in own_stack.workers)}
    start = time.monotonic()
    ticks = collector.wait_for("tick", 8, since=start, timeout=30)
    # 8 ticks of a 1 s timer span about 7 s; on all 4 instances they would come within about 2 s.
    span = ticks[7].at - ticks[0].at
    assert span > 5.5, f"8 ticks within {span:.1f} s: the timer runs on several instances"
    assert len({e.instance for e in ticks}) == 1
    [leader] = leaders(own_stack)
    assert ticks[0].instance == leader.instance_id and leader.role == "worker"

    # The ordinary tab runs on every instance, the editor included.
    collector.wait_for("all-tick", 4 * 3, since=start, timeout=30)
    deadline = time.monotonic() + 30
    while {e.instance for e in collector.events("all-tick", since=start)} != everyone:
        assert time.monotonic() < deadline, collector.events("all-tick", since=start)[-8:]
        time.sleep(0.2)

    # "Inject once" fired once for the stack for this deploy (on the leader), once per instance elsewhere.
    once = collector.events("once", since=deployed)
    assert [e.instance for e in once] == [leader.instance_id]
    assert sorted(e.instance for e in collector.events("all-once", since=deployed)) == sorted(everyone)

    # Who leads is in the lease, in each instance's status record, and in /healthz.
    db = pymongo.MongoClient(own_stack.mongo.url)[own_stack.db]
    assert db["leases"].find_one({"_id": "flows-leader"})["holder"] == leader.instance_id
    # The records are written just after a change of leader (50 ms, off the lease's path): polled.
    expected = {i: i == leader.instance_id for i in everyone}
    deadline = time.monotonic() + 10
    while (records := {r["_id"]: r.get("leader") for r in db["instances"].find()}) != expected:
        assert time.monotonic() < deadline, records
        time.sleep(0.1)


def test_after_the_leader_is_killed_another_instance_runs_the_tab_within_15_s(own_stack, collector, deployed):
    collector.wait_for("tick", 2, since=time.monotonic())
    [leader] = leaders(own_stack)
    killed = time.monotonic()
    leader.kill()
    try:
        taken = collector.wait_for("once", 1, since=killed, timeout=FAILOVER_SECONDS + 15)[0]
        took = taken.at - killed
        assert took <= FAILOVER_SECONDS, f"the tab started again {took:.1f} s after the leader was killed"
        assert taken.instance != leader.instance_id and taken.instance != own_stack.editor.instance_id
        ticks = collector.wait_for("tick", 3, since=taken.at, timeout=15)
        assert {e.instance for e in ticks} == {taken.instance}
    finally:
        # The killed worker comes back (as its container would), and does not run the tab a second time.
        leader.start()
        leader.wait_ready(timeout=120)
    back = time.monotonic()
    later = collector.wait_for("tick", 4, since=back, timeout=20)
    assert {e.instance for e in later} == {taken.instance}
    # Never two instances ticking at once: one handover, from the killed leader to its successor.
    assert runs(collector.events("tick", since=deployed)) == [leader.instance_id, taken.instance]
    assert [i.instance_id for i in leaders(own_stack)] == [taken.instance]


def test_two_failovers_by_freezing_the_leader_each_leave_the_tab_on_the_new_leader_alone(
    own_stack, collector, deployed
):
    """The leader frozen (SIGSTOP, a long GC pause or a stalled VM) until another worker runs the tab, then
    resumed; twice. Each time the resumed worker stops the tab at once (it may run one due tick first), and
    only the new leader runs it from then on.

    Guards: after the second failover the old leader logged "no longer leading the stack" but never "run-once
    tabs stopped here", and it and the new leader both ran the tab until the next full deploy."""
    cluster = RunOnceCluster(own_stack.mongo, own_stack.db, own_stack.editor, own_stack.workers, collector)
    leader = cluster.settle(time.monotonic(), overlap=0, ticks=2)
    for _ in range(2):
        mark = len(leader.log_text())
        frozen = time.monotonic()
        cluster.freeze(leader)
        try:
            deadline = frozen + FAILOVER_SECONDS + 15
            while len([e for e in collector.events("tick", since=frozen) if e.instance != leader.instance_id]) < 2:
                assert time.monotonic() < deadline, "no other worker took the tab over"
                time.sleep(0.1)
        finally:
            thawed_wall_ms = time.time() * 1000
            cluster.thaw(leader)
        thawed = time.monotonic()
        cluster.wait_log(leader, "run-once tabs stopped here", mark)
        successor = cluster.settle(thawed, ticks=3)
        assert successor is not leader
        # Ticks the old leader's timer ran after it resumed (not reports of earlier ones arriving late).
        late = [e for e in collector.events("tick", since=thawed) if e.instance == leader.instance_id]
        assert len([e for e in late if e.body["t"] >= thawed_wall_ms]) <= 1, late
        leader = successor
