"""`python -m nodered_status --watch` as an operator keeps it open during a deploy: it refreshes, shows how
far behind each instance is and which instance leads, against records in a real database.

Guards: the status command printed one report and exited; during a deploy nobody could watch the
workers catch up, nor see which instance holds the leader lease."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

from .test_cli import deploy, record

FRAME_END = ("IN SYNC", "NOT IN SYNC")


def watch(mongo, name, *extra):
    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGO_DB")}
    return subprocess.Popen(
        [sys.executable, "-m", "nodered_status", "--mongo-url", mongo.url, "--db", name, "--watch", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def read_frame(proc, timeout: float = 30.0) -> str:
    """Lines up to and including a frame's verdict line and the leader line after it, if any."""
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"watch ended: {''.join(lines)} {proc.stderr.read()}")
        lines.append(line)
        if line.startswith(FRAME_END):
            return "".join(lines)
    raise AssertionError(f"no complete frame within {timeout}s: {''.join(lines)}")


def row(frame: str, instance: str) -> list[str]:
    [line] = [x for x in frame.splitlines() if x.startswith(instance + " ")]
    return line.split()


def test_watch_refreshes_and_shows_lag_until_the_workers_catch_up(mongo, db):
    name, d = db
    for rev in (1, 2):
        deploy(d, rev)
    d.instances.insert_many(
        [
            record("editor-a", "editor", 2),
            record("worker-a", "worker", 2, port=1881),
            record("worker-b", "worker", 1, port=1882),
        ]
    )
    proc = watch(mongo, name, "--interval", "0.3", "--count", "2")
    try:
        first = read_frame(proc)
        assert row(first, "worker-a")[2:4] == ["2", "-"]
        assert row(first, "worker-b")[2:5] == ["1", "1", "rev,"]  # "1 rev, <seconds>s" behind
        assert "NOT IN SYNC: 1 of 2 workers run revision 2" in first
        # The worker catches up: the next refresh says so.
        d.instances.update_one({"_id": "worker-b"}, {"$set": {"rev": 2, "lastSeen": dt.datetime.now(dt.UTC)}})
        second = read_frame(proc)
        assert row(second, "worker-b")[2:4] == ["2", "-"]
        assert "IN SYNC: all 2 workers run revision 2" in second
        assert proc.wait(30) == 0
    finally:
        proc.kill()


def test_watch_shows_the_leader_from_its_lease(mongo, db):
    name, d = db
    deploy(d, 1)
    now = dt.datetime.now(dt.UTC)
    d.instances.insert_many(
        [
            {**record("worker-a", "worker", 1, port=1881), "leader": True},
            {**record("worker-b", "worker", 1), "leader": False},
        ]
    )
    d.leases.insert_one(
        {
            "_id": "flows-leader",
            "holder": "worker-a",
            "role": "worker",
            "acquiredAt": now - dt.timedelta(seconds=30),
            "expiresAt": now + dt.timedelta(seconds=10),
            "term": 4,
        }
    )
    proc = watch(mongo, name, "--interval", "0.2", "--count", "1")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, out + err
    assert "leader: worker-a (term 4, lease expires in" in out
    assert row(out, "worker-a")[-1] == "leader" and "leader" not in row(out, "worker-b")


def test_watch_keeps_going_while_the_database_is_unreachable(mongo):
    from local_stack import free_port

    env = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "MONGO_DB")}
    url = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "nodered_status",
            "--mongo-url",
            url,
            "--watch",
            "--interval",
            "0.1",
            "--count",
            "2",
            "--timeout",
            "0.3",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert p.returncode == 3
    assert p.stdout.count("cannot read from MongoDB") == 2


def test_watch_takes_the_newest_revision_as_the_report_does_beside_a_stray_document(mongo, db):
    """Guards: with one document whose _id is no number in `flows` (a hand insert, a half-done restore:
    MongoDB sorts a string or ObjectId _id above every number), --watch took it for the newest revision
    and showed nothing but `cannot read from MongoDB: TypeError ...`, blind while an operator repaired it.
    It takes the newest numbered revision, as the report and the storage do."""
    name, d = db
    for rev in (1, 2):
        deploy(d, rev)
    d.flows.insert_one({"_id": "zzz", "flowsJson": "[]", "savedBy": "ops"})
    d.instances.insert_many([record("worker-a", "worker", 2, port=1881), record("worker-b", "worker", 1, port=1882)])
    proc = watch(mongo, name, "--interval", "0.2", "--count", "1")
    out, err = proc.communicate(timeout=30)
    assert "cannot read" not in out, out + err
    assert "newest revision: 2" in out and "NOT IN SYNC: 1 of 2 workers run revision 2" in out, out + err
    assert row(out, "worker-b")[2:5] == ["1", "1", "rev,"]
    assert proc.returncode == 1
