"""The status command's rules: when are the workers in sync, and what does it print."""

import datetime as dt

from nodered_status import exits, report
from nodered_status.clock import format_age

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def inst(_id, role="worker", rev=7, state="running", age=2.0, port=1881):
    return {
        "_id": _id,
        "role": role,
        "host": "10.0.0.5",
        "port": port,
        "pid": 42,
        "rev": rev,
        "state": state,
        "startedAt": NOW - dt.timedelta(hours=1),
        "lastSeen": NOW - dt.timedelta(seconds=age),
    }


def build(instances, rev=7, stale_after=30.0):
    newest = (
        None if rev is None else {"_id": rev, "rev": rev, "savedAt": NOW - dt.timedelta(minutes=5), "savedBy": "admin"}
    )
    return report.build(instances, newest, NOW, stale_after)


def test_all_workers_on_newest_revision_is_in_sync():
    r = build([inst("e", role="editor", port=1880), inst("w1"), inst("w2", port=1882)])
    assert r.in_sync and r.exit_code == exits.OK
    text = report.render_text(r)
    assert "IN SYNC: all 2 workers run revision 7" in text
    assert "newest revision: 7, saved 5m ago by admin" in text
    # the editor is listed first, then the workers, each with address, rev, state and age
    lines = text.splitlines()
    assert lines[1].split()[:6] == ["e", "editor", "10.0.0.5:1880", "7", "running", "2s"]
    assert lines[2].split()[:2] == ["w1", "worker"]


def test_worker_behind_is_not_in_sync():
    r = build([inst("w1"), inst("w2", rev=6)])
    assert not r.in_sync and r.exit_code == exits.NOT_IN_SYNC
    text = report.render_text(r)
    assert "NOT IN SYNC: 1 of 2 workers run revision 7" in text
    assert [ln for ln in text.splitlines() if ln.startswith("w2")][0].endswith("behind")


def test_stale_worker_is_not_in_sync_even_on_newest_revision():
    r = build([inst("w1"), inst("w2", age=31)])
    assert not r.in_sync
    assert r.worker_problem(r.workers[1]) == "stale"
    assert "31s ago" in report.render_text(r)
    # a longer threshold accepts it
    assert build([inst("w1"), inst("w2", age=31)], stale_after=60).in_sync


def test_worker_not_running_is_not_in_sync():
    for state in ("reloading", "error", "waiting-for-db", "loading", "starting"):
        r = build([inst("w1"), inst("w2", state=state)])
        assert not r.in_sync, state
        assert r.worker_problem(r.workers[1]) == f"state {state}"


def test_no_workers_is_not_in_sync():
    r = build([inst("e", role="editor")])
    assert r.exit_code == exits.NOT_IN_SYNC
    assert "NOT IN SYNC: no worker instances found" in report.render_text(r)
    assert "(no instance records)" in report.render_text(build([]))
    assert "is this the deployment's database?" in report.render_text(build([], rev=None))
    assert "is this the deployment's database?" not in report.render_text(build([]))


def test_stale_editor_is_flagged_but_does_not_decide_sync():
    r = build([inst("e", role="editor", age=500), inst("w1")])
    assert r.in_sync
    assert [ln for ln in report.render_text(r).splitlines() if ln.startswith("e ")][0].endswith("stale")


def test_nothing_deployed_yet_workers_without_revision_are_in_sync():
    r = build([inst("w1", rev=None)], rev=None)
    assert r.in_sync
    # What a worker really records on a fresh database: revision 0, its empty flow set.
    assert build([inst("w1", rev=0), inst("w2", rev=0)], rev=None).in_sync
    assert not build([inst("w1", rev=0)], rev=1).in_sync
    assert "newest revision: none deployed yet" in report.render_text(r)
    assert not build([inst("w1", rev=None)], rev=3).in_sync


def test_json_form_carries_the_verdict_per_instance():
    j = report.to_json(build([inst("w1"), inst("w2", rev=6)]))
    assert j["newestRev"] == 7 and j["inSync"] is False
    assert [(i["id"], i["problem"]) for i in j["instances"]] == [("w1", None), ("w2", "behind")]
    assert j["instances"][0]["lastSeenAgeSeconds"] == 2.0


def test_naive_datetimes_from_the_driver_count_as_utc():
    doc = inst("w1")
    doc["lastSeen"] = doc["lastSeen"].replace(tzinfo=None)
    r = report.build([doc], {"_id": 7}, NOW.replace(tzinfo=None), 30)
    assert r.age(r.workers[0]) == 2.0 and r.in_sync


def test_ages_read_naturally():
    assert [format_age(s) for s in (None, 0.2, 5, 300, 4 * 3600, 3 * 86400)] == [
        "never",
        "just now",
        "5s ago",
        "5m ago",
        "4h ago",
        "3d ago",
    ]


def test_a_revision_that_failed_on_the_workers_is_named_with_why_and_what_they_serve():
    """Workers that fell back to revision 6 because 7 could not start: not in sync, and the report says
    which revision failed, why, and what they serve instead (before, it read "behind")."""
    failed = {
        "failedRev": 7,
        "failure": "missing node types: foo",
        "message": "serving revision 6, revision 7 failed: ...",
    }
    r = build([{**inst("w1", rev=6), **failed}, {**inst("w2", rev=6, port=1882), **failed}])
    assert not r.in_sync and r.exit_code == exits.NOT_IN_SYNC
    text = report.render_text(r)
    assert "revision 7 failed on 2 of 2 workers: missing node types: foo; they serve revision 6" in text
    assert [ln for ln in text.splitlines() if ln.startswith("w1")][0].endswith(
        "revision 7 failed: missing node types: foo (serving 6)"
    )
    j = report.to_json(r)
    assert [(i["failedRev"], i["failure"]) for i in j["instances"]] == [(7, "missing node types: foo")] * 2
    # the editor keeps a revision whose flows cannot start loaded (to fix it there): named, not deciding sync
    editor = {**inst("e", role="editor", rev=None, state="error"), **failed}
    line = [ln for ln in report.render_text(build([editor])).splitlines() if ln.startswith("e ")][0]
    assert line.endswith("revision 7 failed: missing node types: foo")
    # a failure older than what runs is history: in sync
    assert build([{**inst("w1", rev=7), "failedRev": 5, "failure": "old"}]).in_sync


def test_restart_flows_shows_how_many_workers_restarted():
    newest = {"_id": 7, "rev": 7, "restarts": 2, "restartedAt": NOW - dt.timedelta(seconds=20), "restartedBy": "bob"}
    done = {"restart": {"rev": 7, "count": 2}}
    late = inst("w3", port=1883)
    late["startedAt"] = NOW - dt.timedelta(seconds=5)  # started after the restart: runs fresh flows anyway
    r = report.build([{**inst("w1"), **done}, inst("w2", port=1882), late], newest, NOW, 30)
    assert "flows restarted 20s ago by bob (restart 2): 2 of 3 workers restarted them" in report.render_text(r)
    assert [i["restarted"] for i in report.to_json(r)["instances"]] == [True, False, True]


def test_instances_on_different_node_red_versions_are_named_during_an_update():
    """Guards: a rolling update with workers on two Node-RED versions looked like any other state."""
    same = [
        {**inst("e", role="editor", port=1880), "nodeRedVersion": "5.0.7"},
        {**inst("w1"), "nodeRedVersion": "5.0.7"},
    ]
    assert "Node-RED versions" not in report.render_text(build(same))
    mixed = [*same, {**inst("w2", port=1882), "nodeRedVersion": "4.1.15"}, inst("w3", port=1883)]
    r = build(mixed)
    assert (
        "Node-RED versions differ (5.0.7: e, w1; 4.1.15: w2; unrecorded (before 5): w3): an update is under way"
        in report.render_text(r)
    )
    assert [i["nodeRedVersion"] for i in report.to_json(r)["instances"]] == ["5.0.7", "5.0.7", "4.1.15", None]


def test_an_instance_refusing_its_credential_key_says_why_and_keys_that_differ_are_named():
    """Guards: an instance whose key was not the database's showed as "state error" at best, with nothing saying
    it would never serve with that key; a rotation under way looked like any other state."""
    reason = (
        "refusing to serve: NODE_RED_CREDENTIAL_SECRET (key 111111111111) is the key this database's credentials "
        "were rotated away from on 2026-01-01T11:00:00.000Z; they are encrypted with key 222222222222 now: give "
        "this instance the new key"
    )
    instances = [
        {**inst("e", role="editor", port=1880), "credentialKey": "222222222222"},
        {**inst("w1"), "credentialKey": "222222222222"},
        {**inst("w2", rev=None, state="error", port=1882), "credentialKey": "111111111111", "message": reason},
    ]
    r = build(instances)
    text = report.render_text(r)
    assert r.exit_code == exits.NOT_IN_SYNC
    [row] = [line for line in text.splitlines() if line.startswith("w2 ")]
    assert row.endswith(reason)
    assert f"1 instance {reason} (w2)" in text
    assert "credential keys differ (222222222222: e, w1; 111111111111: w2): a key rotation is under way" in text
    [w2] = [i for i in report.to_json(r)["instances"] if i["id"] == "w2"]
    assert (w2["refusal"], w2["problem"], w2["credentialKey"]) == (reason, reason, "111111111111")
    # One key everywhere: no such line.
    assert "credential keys" not in report.render_text(build(instances[:2]))
