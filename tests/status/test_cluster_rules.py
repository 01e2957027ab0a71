"""The status command's MongoDB mode against the cluster rules' vectors, which the editor's cluster API runs
too (nodered_image/test/cluster_rules.json, cluster_rules.test.js there): the status verdict and each
instance's note (report.py), the diff of two revisions (revisions.py), the rows `history` lists
(listing.py).

Guards: `--url` and `--mongo-url` giving two answers for one deployment (a worker in sync by one rule and
behind by the other, a change counted by one and not the other), and the editor's Cluster sidebar
disagreeing with the status command."""

from __future__ import annotations

from pathlib import Path

import pytest
from bson import json_util

from nodered_status import listing, report
from nodered_status.revisions import diff

VECTORS = json_util.loads(
    (Path(__file__).resolve().parents[2] / "nodered_image" / "test" / "cluster_rules.json").read_text()
)


@pytest.mark.parametrize("vector", VECTORS["status"], ids=lambda v: v["name"])
def test_the_status_verdict_and_each_instances_note(vector):
    r = report.build(vector["records"], vector["newest"], vector["now"], vector["staleAfter"])
    got = {
        "inSync": r.in_sync,
        "instances": [
            {
                "id": i.id,
                "stale": r.is_stale(i),
                "problem": r.worker_problem(i) if i.role == "worker" else None,
                "note": report.note(r, i),
                "restarted": r.restarted(i) if r.restarts else None,
            }
            for i in r.instances
        ],
    }
    assert got == vector["expected"]


@pytest.mark.parametrize("vector", VECTORS["diff"], ids=lambda v: v["name"])
def test_what_changed_between_two_revisions(vector):
    assert diff(vector["older"], vector["newer"]) == vector["expected"]


@pytest.mark.parametrize("vector", VECTORS["history"], ids=lambda v: v["name"])
def test_the_rows_history_lists(vector):
    got = listing.build(
        vector["docs"], vector["strays"], vector["instances"], vector["now"], vector["limit"], vector["staleAfter"]
    )
    assert got == vector["expected"]
