"""`python -m nodered_status history` and `... rollback REV` against a real MongoDB wire-protocol server,
revision documents as the storage module writes them (flowsJson), and as it wrote them before (flows)."""

import datetime as dt
import json
import os
import subprocess
import sys
import uuid

from local_stack import free_port


def cli(*args, env=None):
    e = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGO_DB", "USER", "LOGNAME")}
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "nodered_status", *args], capture_output=True, text=True, timeout=60, env=e
    )


def tab(tid, label):
    return {"id": tid, "type": "tab", "label": label}


def node(nid, z, **kw):
    return {"id": nid, "type": "function", "z": z, "func": "return msg;", "wires": [], **kw}


def save(d, rev, flows, by="admin", minutes_ago=0, credentials=None, legacy=False, **extra):
    """A revision document; legacy: flows as an array, as revisions were written before flowsJson."""
    d.flows.insert_one(
        {
            "_id": rev,
            "rev": rev,
            "deployId": uuid.uuid4().hex,
            **({"flows": flows} if legacy else {"flowsJson": json.dumps(flows, separators=(",", ":"))}),
            "credentials": credentials if credentials is not None else {"encrypted": "c1"},
            "savedAt": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago),
            "savedBy": by,
            "deployType": "full",
            **extra,
        }
    )


def worker(d, _id, rev, **extra):
    now = dt.datetime.now(dt.UTC)
    d.instances.insert_one(
        {
            "_id": _id,
            "role": "worker",
            "host": "127.0.0.1",
            "port": 1881,
            "rev": rev,
            "latestRev": rev,
            "state": "running",
            "startedAt": now - dt.timedelta(minutes=5),
            "lastSeen": now,
            **extra,
        }
    )


def three_revisions(d):
    # Revision 1 as written before flowsJson: history and rollback read both forms, across them too.
    save(d, 1, [tab("t1", "orders"), node("a", "t1")], minutes_ago=30, legacy=True)
    save(d, 2, [tab("t1", "orders"), node("a", "t1", func="return 2;"), node("b", "t1")], by="alice", minutes_ago=20)
    save(
        d,
        3,
        [tab("t1", "orders"), node("b", "t1"), tab("t2", "billing"), node("c", "t2")],
        by="bob",
        minutes_ago=10,
        credentials={"encrypted": "c2"},
    )


def test_history_lists_revisions_newest_first_with_what_changed(mongo, db):
    name, d = db
    three_revisions(d)
    worker(d, "w1", 3)
    worker(d, "w2", 3)
    p = cli("history", "--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["REV", "SAVED", "AGE", "BY", "TYPE", "NODES", "CHANGES", "NOTE"]
    assert [ln.split()[0] for ln in lines[1:]] == ["3", "2", "1"]
    r3, r2, r1 = lines[1:]
    assert "bob" in r3 and "10m ago" in r3
    assert "tabs +1 ~1, nodes +1 -1, credentials changed" in r3 and "served by 2 workers" in r3
    assert "tabs ~1, nodes +1 ~1" in r2 and "alice" in r2
    assert "(oldest kept)" in r1
    # JSON has the ids
    out = json.loads(cli("history", "--json", env={"MONGO_URL": mongo.url, "MONGO_DB": name}).stdout)
    first = out["revisions"][0]
    assert (first["rev"], first["previousRev"], first["nodes"], first["savedBy"]) == (3, 2, 4, "bob")
    assert first["changes"]["tabs"] == {"added": ["t2"], "removed": [], "changed": ["t1"]}
    assert first["changes"]["nodes"] == {"added": ["c"], "removed": ["a"], "changed": []}
    assert first["servedBy"] == ["worker", "worker"]


def test_history_names_malformed_documents_failures_restarts_and_strays(mongo, db):
    name, d = db
    three_revisions(d)
    d.flows.insert_one({"_id": 4, "rev": 4, "savedBy": "ops", "savedAt": dt.datetime.now(dt.UTC)})
    d.flows.insert_one({"_id": "zzz", "flows": []})
    d.flows.update_one(
        {"_id": 3},
        {
            "$set": {
                "restarts": 2,
                "restartedBy": "carol",
                "restartedAt": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=3),
            }
        },
    )
    worker(d, "w1", 3, failedRev=4, failure="it has no flows field")
    p = cli("history", "--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 0, p.stderr
    row4 = next(ln for ln in p.stdout.splitlines() if ln.split()[0] == "4")
    assert "MALFORMED: it has no flows field (never loaded)" in row4
    assert "failed on 1 worker: it has no flows field" in row4
    row3 = next(ln for ln in p.stdout.splitlines() if ln.split()[0] == "3")
    assert "tabs +1 ~1" in row3, "compared with the newest loadable revision before it"
    assert "flows restarted 2x (last 3m ago by carol)" in row3
    assert 'not revisions (their _id is no revision number: never loaded, delete them):\n  _id "zzz"' in p.stdout


def test_history_of_an_empty_database_and_its_errors(mongo, db):
    name, _ = db
    p = cli("history", "--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 0 and "no flow revisions in this database" in p.stdout
    assert cli("history").returncode == 2
    port = free_port()
    p = cli("history", "--mongo-url", f"mongodb://u:pw@127.0.0.1:{port}/", "--timeout", "1")
    assert p.returncode == 3 and "mongodb://u:***@" in p.stderr and "pw@" not in p.stderr


def test_rollback_saves_a_new_revision_with_the_old_flows_and_credentials(mongo, db):
    name, d = db
    three_revisions(d)
    p = cli("rollback", "1", "--by", "ops-oncall", "--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "rolled back: revision 4 saved with the flows and credentials of revision 1 (by ops-oncall)\n"
    one, four = d.flows.find_one({"_id": 1}), d.flows.find_one({"_id": 4})
    assert four["flows"] == one["flows"] and "flowsJson" not in four and four["credentials"] == one["credentials"]
    assert (four["rev"], four["savedBy"], four["deployType"], four["rollbackOf"]) == (4, "ops-oncall", "rollback", 1)
    assert four["deployId"] != one["deployId"]
    # history shows it
    row = next(ln for ln in cli("history", "--mongo-url", mongo.url, "--db", name).stdout.splitlines()[1:])
    assert row.split()[:1] == ["4"] and "rollback of 1" in row and "tabs -1, nodes -2 +1" not in row


def test_history_says_which_node_red_saved_each_revision_and_a_rollback_keeps_it(mongo, db):
    """After an upgrade, the revisions saved on the older Node-RED are the ones it can run again (docs/image.md:
    "Upgrading Node-RED"); a rollback to one of them says so too."""
    name, d = db
    save(d, 1, [tab("t1", "orders"), node("a", "t1")], nodeRedVersion="4.1.15")
    save(d, 2, [tab("t1", "orders"), node("a", "t1"), node("b", "t1")], nodeRedVersion="5.0.7")
    assert cli("rollback", "1", "--by", "oncall", "--mongo-url", mongo.url, "--db", name).returncode == 0
    assert d.flows.find_one({"_id": 3})["nodeRedVersion"] == "4.1.15"
    p = cli("history", "--mongo-url", mongo.url, "--db", name, "--json")
    listed = {r["rev"]: r["nodeRedVersion"] for r in json.loads(p.stdout)["revisions"]}
    assert listed == {3: "4.1.15", 2: "5.0.7", 1: "4.1.15"}


def test_rollback_numbers_are_never_reused_and_follow_the_counter(mongo, db):
    name, d = db
    three_revisions(d)
    d.counters.insert_one({"_id": "flows", "seq": 9})  # numbers up to 9 were given (and deleted) before
    worker(d, "w1", 3, seenRev=12)  # a live worker has seen 12 (after a restore of the database)
    p = cli("rollback", "2", "--mongo-url", mongo.url, "--db", name, "--json", env={"USER": "jdoe"})
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"rev": 13, "rollbackOf": 2, "savedBy": "jdoe"}
    assert d.flows.find_one({"_id": 13})["flowsJson"] == d.flows.find_one({"_id": 2})["flowsJson"]
    assert d.counters.find_one({"_id": "flows"})["seq"] == 13


def test_rollback_refuses_what_it_cannot_restore(mongo, db):
    name, d = db
    three_revisions(d)
    d.flows.insert_one({"_id": 4, "rev": 4, "flows": "oops"})
    p = cli("rollback", "7", "--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 4 and "no revision 7 in the flows collection (kept: 1..4)" in p.stderr
    p = cli("rollback", "4", "--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 4
    assert "revision 4 cannot be loaded: its flows field is a string, not an array" in p.stderr
    d.flows.insert_one({"_id": 5, "rev": 5, "flowsJson": '[{"id":'})
    p = cli("rollback", "5", "--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 4 and "revision 5 cannot be loaded: its flowsJson field is not valid JSON" in p.stderr
    assert d.flows.count_documents({}) == 5, "nothing written"
    assert cli("rollback", "x", "--mongo-url", mongo.url).returncode == 2
    assert cli("rollback", "1").returncode == 2


def test_rollback_wait_says_which_workers_do_not_serve_it(mongo, db):
    name, d = db
    three_revisions(d)
    worker(d, "w1", 3)
    p = cli("rollback", "1", "--wait", "1", "--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "NOT SERVED everywhere after 1 s:\n  w1: serves revision 3 (running)" in p.stdout


def test_history_counts_live_instances_by_the_same_stale_after_as_the_report(mongo, db):
    """Guards: history fixed its own 30 s while the report took --stale-after, so the two disagreed on
    which instances serve a revision for anyone who changed it."""
    name, d = db
    three_revisions(d)
    worker(d, "w1", 3, lastSeen=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60))
    args = ("history", "--mongo-url", mongo.url, "--db", name, "--json")
    assert json.loads(cli(*args).stdout)["revisions"][0]["servedBy"] == []
    assert json.loads(cli(*args, "--stale-after", "120").stdout)["revisions"][0]["servedBy"] == ["worker"]
    report = ("--mongo-url", mongo.url, "--db", name, "--stale-after", "120")
    assert cli(*report).returncode == 0, "the report agrees: w1 is live and in sync"
    assert cli(*args, "--stale-after", "0").returncode == 2
