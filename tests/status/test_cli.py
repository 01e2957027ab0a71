"""`python -m nodered_status` against a real MongoDB wire-protocol server, records as the plugin writes them."""

import datetime as dt
import json
import os
import subprocess
import sys

from local_stack import free_port


def status(*args, env=None):
    e = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGO_DB")}
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "nodered_status", *args], capture_output=True, text=True, timeout=60, env=e
    )


def record(_id, role, rev, state="running", age=1.0, port=1880):
    now = dt.datetime.now(dt.UTC)
    return {
        "_id": _id,
        "role": role,
        "host": "127.0.0.1",
        "port": port,
        "pid": 1000 + port,
        "rev": rev,
        "state": state,
        "startedAt": now - dt.timedelta(minutes=3),
        "lastSeen": now - dt.timedelta(seconds=age),
    }


def deploy(d, rev):
    d.flows.insert_one(
        {
            "_id": rev,
            "rev": rev,
            "flows": [{"id": "n1", "type": "tab"}],
            "credentials": {"$": "x"},
            "savedAt": dt.datetime.now(dt.UTC),
            "savedBy": "admin",
        }
    )


def test_in_sync_deployment_lists_every_instance_and_exits_zero(mongo, db):
    name, d = db
    for rev in (1, 2, 3):
        deploy(d, rev)
    d.instances.insert_many(
        [
            record("editor-a", "editor", 3),
            record("worker-a", "worker", 3, port=1881),
            record("worker-b", "worker", 3, port=1882),
        ]
    )
    p = status("--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 0, p.stdout + p.stderr
    for needle in (
        "editor-a",
        "worker-a",
        "worker-b",
        "127.0.0.1:1882",
        "newest revision: 3",
        "IN SYNC: all 2 workers run revision 3",
    ):
        assert needle in p.stdout
    assert "NOT IN SYNC" not in p.stdout


def test_worker_behind_exits_one_and_names_it(mongo, db):
    name, d = db
    deploy(d, 4)
    deploy(d, 5)
    d.instances.insert_many([record("worker-a", "worker", 5, port=1881), record("worker-b", "worker", 4, port=1882)])
    p = status("--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 1
    assert "NOT IN SYNC: 1 of 2 workers run revision 5" in p.stdout
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("worker-b")][0]
    assert line.split()[3] == "4" and line.endswith("behind")


def test_stale_worker_exits_one(mongo, db):
    name, d = db
    deploy(d, 1)
    d.instances.insert_many([record("worker-a", "worker", 1), record("worker-b", "worker", 1, age=90)])
    p = status("--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 1 and "stale" in p.stdout
    assert status("--mongo-url", mongo.url, "--db", name, "--stale-after", "300").returncode == 0


def test_no_workers_exits_one(mongo, db):
    name, d = db
    deploy(d, 1)
    d.instances.insert_one(record("editor-a", "editor", 1))
    p = status("--mongo-url", mongo.url, "--db", name)
    assert p.returncode == 1 and "no worker instances found" in p.stdout


def test_connection_from_environment_and_json_output(mongo, db):
    name, d = db
    deploy(d, 9)
    d.instances.insert_one(record("worker-a", "worker", 9))
    p = status("--json", env={"MONGO_URL": mongo.url, "MONGO_DB": name})
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["newestRev"] == 9 and out["inSync"] is True
    assert [i["id"] for i in out["instances"]] == ["worker-a"]


def test_unreachable_database_is_a_clear_error_with_its_own_exit_code():
    port = free_port()  # nothing listens there
    p = status("--mongo-url", f"mongodb://admin:s3cret@127.0.0.1:{port}/", "--timeout", "1")
    assert p.returncode == 3
    assert f"cannot read status from MongoDB at mongodb://admin:***@127.0.0.1:{port}/" in p.stderr
    assert "s3cret" not in p.stderr and p.stdout == ""


def test_missing_url_is_a_usage_error():
    p = status()
    assert p.returncode == 2 and "pass --url (the editor) or --mongo-url (or set MONGO_URL)" in p.stderr
