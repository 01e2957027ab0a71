"""The status command's rules on revision documents against the vectors the storage's tests run too
(nodered_image/storage/test/revision_rules.json, revision_rules.test.js there): which document can be
loaded and why not, which is the newest revision, which number a rollback takes next.

Guards: the two implementations drifting apart again (the status command calling a revision loadable that
the storage skips, `--watch` taking a document with a string _id for the newest revision, a rollback
giving a number a worker already knows)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bson import json_util

from nodered_contract import database as layout
from nodered_status.revisions import document_problem, newest_revision, next_revision

VECTORS = json_util.loads(
    (Path(__file__).resolve().parents[2] / "nodered_image" / "storage" / "test" / "revision_rules.json").read_text()
)


@pytest.mark.parametrize("vector", VECTORS["loadable"], ids=lambda v: v["name"])
def test_which_revision_document_can_be_loaded_and_why_not(vector):
    assert document_problem(vector["doc"]) == vector["problem"]


def test_the_newest_revision_is_the_one_every_vector_names(db):
    _, d = db
    flows = layout.collection(d, "flows")
    for vector in VECTORS["newest"]:
        flows.delete_many({})
        if vector["ids"]:
            flows.insert_many([{"_id": i} for i in vector["ids"]])
        newest = newest_revision(flows, {"_id": 1})
        assert (newest["_id"] if newest else None) == vector["newest"], vector["name"]


def test_a_rollback_takes_the_number_every_vector_gives(db):
    _, d = db
    for vector in VECTORS["nextNumber"]:
        for name in ("flows", "instances", "counters"):
            d[name].delete_many({})
        if vector["counter"] is not None:
            d.counters.insert_one({"_id": layout.COUNTER.id, "seq": vector["counter"]})
        if vector["revisions"]:
            d.flows.insert_many([{"_id": i, "flowsJson": "[]"} for i in vector["revisions"]])
        if vector["instances"]:
            d.instances.insert_many([{"_id": f"i{n}", **r} for n, r in enumerate(vector["instances"])])
        assert next_revision(d) == vector["next"], vector["name"]
