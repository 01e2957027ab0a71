"""Run-once tabs (CLUSTER_RUN_ON=leader) between a few real instances: the editor's part, and a leader cut
off from the database. The whole stack behind the router, failover after SIGKILL included, is
tests/e2e/test_run_once_tabs.py.

Guards: a timer or an "inject once" firing on every instance and on the editor (N+1 times), and a leader
that loses its database but keeps running the tab while another instance takes it over."""

from __future__ import annotations

import re
import time

import pymongo

from local_stack import AdminClient
from local_stack.cluster_flows import ticker_flow
from local_stack.collector import Collector, runs
from local_stack.tcp_proxy import TcpProxy
from tests.fixtures.run_once import LEASE_ID, LEASE_SECONDS, overlaps


def deploy(editor, flows) -> int:
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    admin.login()
    rev = admin.deploy(flows)
    assert rev is not None
    return rev


def both_tabs(collector: Collector) -> list[dict]:
    return ticker_flow(collector.url) + ticker_flow(
        collector.url, run_on=None, tab_id="tab-everywhere", label="everywhere", prefix="all-"
    )


def test_an_editor_that_takes_part_leads_alone_hands_over_on_stop_and_never_doubles(nodered_factory):
    """flows.editor: all. The editor alone runs the run-once tab; a worker that joins does not run it
    too; when the editor stops, the worker takes the tab over at once (the editor releases its lease)."""
    with Collector() as collector:
        editor = nodered_factory("editor", instance_id="editor", extra_env={"NODE_RED_EDITOR_FLOWS": "all"})
        editor.wait_ready()
        assert editor.healthz()["leader"] is True
        rev = deploy(editor, both_tabs(collector))
        editor.wait_ready(rev=rev)
        collector.wait_for("tick", 2)

        worker = nodered_factory("worker", instance_id="worker")
        worker.wait_ready(rev=rev)
        joined = time.monotonic()
        collector.wait_for("all-tick", 3, since=joined)
        ticks = collector.wait_for("tick", 3, since=joined)
        assert {e.instance for e in ticks} == {"editor"}
        assert worker.healthz()["leader"] is False

        stopped = time.monotonic()
        editor.stop()
        taken = collector.wait_for("once", 1, since=stopped, timeout=15)[0]
        assert taken.instance == "worker"
        # Released, not lapsed: the worker starts the tab well before a lease (8 s) could run out.
        assert taken.at - stopped < 6, f"took {taken.at - stopped:.1f} s"
        collector.wait_for("tick", 2, since=taken.at)
        assert runs(collector.events("tick")) == ["editor", "worker"]


def test_an_editor_with_no_part_runs_no_run_once_tab_and_with_none_no_tab_at_all(nodered_factory):
    """flows.editor: ordinary (the default) runs ordinary tabs but never a run-once tab, even with no
    worker to run it; none runs no tab at all."""
    with Collector() as collector:
        ordinary = nodered_factory("editor", instance_id="editor")
        ordinary.wait_ready()
        rev = deploy(ordinary, both_tabs(collector))
        ordinary.wait_ready(rev=rev)
        collector.wait_for("all-tick", 3)
        assert collector.events("tick") == [] and collector.events("once") == []
        assert ordinary.healthz()["leader"] is False
        ordinary.stop()

        none = nodered_factory("editor", instance_id="editor-none", extra_env={"NODE_RED_EDITOR_FLOWS": "none"})
        worker = nodered_factory("worker", instance_id="worker")
        worker.wait_ready(rev=rev)
        none.wait_ready(rev=rev)
        since = time.monotonic()
        collector.wait_for("all-tick", 3, since=since)
        collector.wait_for("tick", 3, since=since)
        assert {e.instance for e in collector.events(since=since)} == {"worker"}
        # What the editor shows and would deploy again is what was deployed: the tabs are not disabled.
        admin = AdminClient(none.url, none.editor_user, none.editor_password)
        tabs = [n for n in admin.get_flows()["flows"] if n["type"] == "tab"]
        assert tabs and all(t["disabled"] is False for t in tabs)


def test_a_leader_cut_off_from_the_database_stops_the_tab_before_another_instance_starts_it(
    nodered_factory, mongo_server, mongo_db
):
    """A network partition between the leader and MongoDB: it stops the run-once tab on its own (it cannot
    renew its lease) before the lease lapses and another instance takes the tab over."""
    host, port = re.search(r"//(?:[^@/]*@)?([^:/]+):(\d+)", mongo_server.url).groups()
    proxy = TcpProxy(host, int(port))
    try:
        with Collector() as collector:
            editor = nodered_factory("editor", instance_id="editor")
            cut_off = nodered_factory(
                "worker", instance_id="cut-off", mongo_url=mongo_server.url.replace(f":{port}", f":{proxy.port}", 1)
            )
            cut_off.wait_ready()
            assert cut_off.healthz()["leader"] is True  # first to start: it leads
            other = nodered_factory("worker", instance_id="other")
            editor.wait_ready()
            rev = deploy(editor, both_tabs(collector))
            for w in (cut_off, other):
                w.wait_ready(rev=rev)
            collector.wait_for("tick", 2)

            cut = time.monotonic()
            proxy.cut()
            taken = collector.wait_for("once", 1, since=cut, timeout=30)[0]
            assert taken.instance == "other"
            deadline = time.monotonic() + 15
            while len([e for e in collector.events("tick", since=taken.at) if e.instance == "other"]) < 3:
                assert time.monotonic() < deadline, "the new leader does not tick"
                time.sleep(0.1)
            ticks = collector.events("tick")
            last_cut_off = max(e.at for e in ticks if e.instance == "cut-off")
            first_other = min(e.at for e in ticks if e.instance == "other")
            assert last_cut_off < first_other
            assert last_cut_off - cut < 6, "the cut-off leader ran the tab for its whole lease and more"
            # The cut-off instance keeps its other tabs running: it only lost the run-once tab.
            collector.wait_for("all-tick", 2, since=taken.at)
            assert "cut-off" in {e.instance for e in collector.events("all-tick", since=taken.at)}

            proxy.restore()
            back = time.monotonic()
            collector.wait_for("tick", 5, since=back)
            assert runs(collector.events("tick")) == ["cut-off", "other"]
            lease = pymongo.MongoClient(mongo_server.url)[mongo_db]["leases"].find_one({"_id": "flows-leader"})
            assert lease["holder"] == "other" and lease["term"] == 2
    finally:
        proxy.close()


def test_a_leader_that_steps_down_while_the_database_pauses_runs_the_tab_again_when_it_answers(run_once_cluster):
    """The database stops answering (SIGSTOP) until the leader has stopped its run-once tab for want of a
    renewal (5 s after its last one), then answers again before the lease could lapse, twice: each time the
    leader takes its lease back and runs the tab again, and no other instance runs it meanwhile.

    Guards: a leader that stopped the tab, took its lease back ("it was still this instance's") and never
    started the tab again until the next full deploy: /healthz said leader: true, no instance ran the tab."""
    c = run_once_cluster
    leader = c.settle(time.monotonic(), overlap=0)
    for _ in range(2):
        mark = len(leader.log_text())
        c.mongo.pause()
        try:
            c.wait_log(leader, "run-once tabs stopped here", mark, timeout=LEASE_SECONDS)
        finally:
            c.mongo.resume()
        # The old leader stopped before anyone could take over: no overlap at all.
        leader = c.settle(time.monotonic(), overlap=0)
    assert overlaps(c.ticks()) == []


def test_edits_of_the_lease_by_hand_never_leave_two_instances_running_the_tab(run_once_cluster):
    """The lease document edited in the database: its holder changed to another worker, an older copy put
    back, a holder no instance has, no holder. After each, one instance runs the tab once the lease's time
    has passed, and it is the one the lease names; never two at the same time.

    Guards: two instances running the tab for the whole 8–10 s after an edit (the one that lost the lease
    kept its tab), a leader by /healthz that did not run it, and an instance named by an edit that took
    the lease at once while the leader still ran the tab."""
    c = run_once_cluster
    first = c.settle(time.monotonic(), overlap=0)
    older = c.lease()
    other = next(w for w in c.workers if w is not first)
    edits = [
        lambda: c.leases.update_one({"_id": LEASE_ID}, {"$set": {"holder": other.instance_id}}),
        lambda: c.leases.replace_one({"_id": LEASE_ID}, older),
        lambda: c.leases.update_one({"_id": LEASE_ID}, {"$set": {"holder": "an-instance-long-gone"}}),
        lambda: c.leases.update_one({"_id": LEASE_ID}, {"$set": {"holder": None}}),
    ]
    for edit in edits:
        edit()
        c.settle(time.monotonic())
    # Whoever led stopped at its next renewal; the lease was taken over only after it had stayed unchanged.
    assert overlaps(c.ticks()) == []
