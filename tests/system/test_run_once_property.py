"""Run-once tabs against random sequences of failures: workers frozen (SIGSTOP) for a while, the leader
among them more often, the database paused (SIGSTOP), the lease document edited by hand (its holder
changed to another worker, to one long gone, to nobody; an older copy put back), and both a freeze and
a database pause at once. After each step: once the lease's time has passed, exactly one worker runs the
tab and it is the one /healthz and the lease say leads; over the whole run, no two workers ever ran it
at the same time.

The sequence comes from a seed, printed when the test fails; RUN_ONCE_SEED=<seed> replays it,
RUN_ONCE_STEPS sets how many steps (5 by default: about a minute and a half).

Guards: run-once tabs that stopped following the lease after the first change of leader (two instances
ticking after a second failover, none after a database pause while /healthz said leader: true), and an
edit of the lease that let an instance take it at once while the leader still ran."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

from tests.fixtures.run_once import LEASE_ID, RunOnceCluster, overlaps

SEED = int(os.environ.get("RUN_ONCE_SEED") or random.SystemRandom().randrange(2**32))
STEPS = int(os.environ.get("RUN_ONCE_STEPS") or 5)


def hold(seconds: float, then: Callable[[], None]) -> None:
    """Keeps a failure going for `seconds` (the step's length, not a wait for a result), then ends it."""
    try:
        time.sleep(seconds)
    finally:
        then()


def random_step(rng: random.Random, c: RunOnceCluster, leader, copies: list[dict]) -> tuple[str, Callable[[], None]]:
    """(what, do): one failure, run to its end by do()."""
    others = [w for w in c.workers if w is not leader]
    kind = rng.choice(["freeze", "freeze", "pause", "edit", "edit", "freeze+pause"])
    if kind == "freeze":
        w = leader if rng.random() < 0.6 else rng.choice(others)
        seconds = rng.choice([2, 6, 10, 13])

        def freeze() -> None:
            c.freeze(w)
            hold(seconds, lambda: c.thaw(w))

        return f"freeze {w.instance_id}{' (leader)' if w is leader else ''} {seconds} s", freeze
    if kind == "pause":
        seconds = rng.choice([2, 5.5, 7, 9])

        def pause() -> None:
            c.mongo.pause()
            hold(seconds, c.mongo.resume)

        return f"pause the database {seconds} s", pause
    if kind == "freeze+pause":
        seconds = rng.choice([4, 7, 11])

        def both() -> None:
            c.freeze(leader)
            c.mongo.pause()

            def end() -> None:
                c.mongo.resume()
                c.thaw(leader)

            hold(seconds, end)

        return f"freeze {leader.instance_id} (leader) and pause the database {seconds} s", both
    edit = rng.choice(["holder", "gone", "nobody", "older"])
    if edit == "older":
        older = rng.choice(copies)
        return f"put back an older lease ({older['holder']}, term {older['term']}, beat {older['beat']})", (
            lambda: c.leases.replace_one({"_id": LEASE_ID}, older)
        )
    holder = {"holder": rng.choice(others).instance_id, "gone": "an-instance-long-gone", "nobody": None}[edit]
    return f"edit the lease's holder to {holder}", lambda: c.leases.update_one(
        {"_id": LEASE_ID}, {"$set": {"holder": holder}}
    )


def test_random_freezes_database_pauses_and_lease_edits_leave_exactly_one_worker_running_the_tab(
    run_once_cluster,
):
    c = run_once_cluster
    rng = random.Random(SEED)
    done: list[str] = []
    try:
        leader = c.settle(time.monotonic(), overlap=0)
        copies = [c.lease()]
        for _ in range(STEPS):
            what, do = random_step(rng, c, leader, copies)
            done.append(what)
            do()
            leader = c.settle(time.monotonic())
            copies.append(c.lease())
        assert overlaps(c.ticks()) == [], "two workers ran the tab at the same time"
        print(f"RUN_ONCE_SEED={SEED}, steps: {done}")
    except BaseException as e:
        raise AssertionError(f"RUN_ONCE_SEED={SEED}, steps: {done}: {e}") from e
