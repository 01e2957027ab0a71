"""Revision documents of the `flows` collection, as the storage module writes and reads them
(nodered_image/storage/lib/revision_doc.js and numbering.js): whether one can be loaded, which is the
newest, what changed between two, and the next revision number. Both implementations run the vectors
of nodered_image/storage/test/revision_rules.json (tests/status/test_revision_rules.py here).

Pure logic except newest_revision() and next_revision(), which take a pymongo collection and database.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from nodered_contract import database as layout

MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER: the storage reads numbers as doubles


def _js_number(value: int | float) -> str:
    """A number as JavaScript's String() writes it, so messages read the same in both languages."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)  # the shortest digits that read back as the same double, as JavaScript's
    if 1e-7 <= abs(value) < 1e21:
        return format(Decimal(text), "f")  # JavaScript writes these without an exponent
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{'-' if exponent.startswith('-') else '+'}{exponent.lstrip('+-').lstrip('0') or '0'}"


def _kind(value: Any) -> str:
    """What kind of value this is, in the storage's words (codec.js kindOf)."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dt.datetime):
        return "a date"
    if isinstance(value, bytes):
        return "a Binary"
    return f"a {type(value).__name__}"


def describe_id(value: Any) -> str:
    """How an _id reads in messages: 12, "zzz", ObjectId("..."), a boolean."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _js_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if type(value).__name__ == "ObjectId":
        return f'ObjectId("{value}")'
    return _kind(value)


def is_revision_number(value: Any) -> bool:
    """A whole number from 1 that the storage reads exactly (a safe integer), stored as int or double."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 1 <= value <= MAX_SAFE_INTEGER
        and float(value).is_integer()
    )


def credentials_problem(stored: Any) -> str | None:
    if stored is None:
        return None
    if not isinstance(stored, dict):
        return f'its credentials field is {_kind(stored)}, not {{encrypted: "<ciphertext>"}}'
    if "encrypted" in stored:
        enc = stored["encrypted"]
        return None if isinstance(enc, str) else f"its credentials.encrypted is {_kind(enc)}, not a string"
    if "plain" in stored:
        return (
            None
            if isinstance(stored["plain"], dict)
            else f"its credentials.plain is {_kind(stored['plain'])}, not an object"
        )
    return None if not stored else 'its credentials field holds neither "encrypted" nor "plain"'


def flows_of(doc: dict) -> tuple[list | None, str | None]:
    """The nodes a revision document holds and, when they cannot be read, why (the storage's words):
    `flowsJson`, one JSON string, as the storage writes them; `flows`, an array, as revisions were
    written before (keys as stored)."""
    if "flowsJson" in doc:
        text = doc["flowsJson"]
        if not isinstance(text, str):
            return None, f"its flowsJson field is {_kind(text)}, not a string"
        try:
            flows = json.loads(text)
        except ValueError:
            return None, "its flowsJson field is not valid JSON"
        if not isinstance(flows, list):
            return None, f"its flowsJson field holds {_kind(flows)}, not an array"
    elif "flows" not in doc:
        return None, "it has no flows field"
    else:
        flows = doc["flows"]
        if not isinstance(flows, list):
            return None, f"its flows field is {_kind(flows)}, not an array"
    for i, n in enumerate(flows):
        if not isinstance(n, dict):
            return None, f"flows[{i}] is {_kind(n)}, not a node"
        if not isinstance(n.get("id"), str) or n.get("id") == "":
            return None, f"flows[{i}] has no id"
        if not isinstance(n.get("type"), str) or n.get("type") == "":
            return None, f"flows[{i}] (id {json.dumps(n['id'], ensure_ascii=False)}) has no type"
    return flows, None


def with_flows_read(doc: dict) -> dict:
    """The document with a readable `flowsJson` parsed once into `flows` (the form revisions had before),
    for code that looks at a revision's flows more than once (history: its problem, two diffs, its node
    count); a document whose flows cannot be read is returned as it is, so its problem is named as stored."""
    flows, problem = flows_of(doc)
    if "flowsJson" not in doc or problem is not None:
        return doc
    read = {k: v for k, v in doc.items() if k != "flowsJson"}
    read["flows"] = flows
    return read


def document_problem(doc: dict) -> str | None:
    """Why this document cannot be loaded as a revision (the storage's words), or None."""
    _id = doc.get("_id")
    if not isinstance(_id, int | float) or isinstance(_id, bool):  # a Decimal128 too: numbered, no revision number
        return f"its _id {describe_id(_id)} is not a revision number"
    if not is_revision_number(_id):
        return f"its _id {describe_id(_id)} is not a whole number from 1"
    problem = flows_of(doc)[1]
    return problem or credentials_problem(doc.get("credentials"))


@dataclass
class Changes:
    """What changed from one revision's flows to the next: tabs and nodes by id."""

    tabs_added: list[str] = field(default_factory=list)
    tabs_removed: list[str] = field(default_factory=list)
    tabs_changed: list[str] = field(default_factory=list)
    nodes_added: list[str] = field(default_factory=list)
    nodes_removed: list[str] = field(default_factory=list)
    nodes_changed: list[str] = field(default_factory=list)
    credentials_changed: bool = False

    def summary(self) -> str:
        parts = []
        for name, added, removed, changed in (
            ("tabs", self.tabs_added, self.tabs_removed, self.tabs_changed),
            ("nodes", self.nodes_added, self.nodes_removed, self.nodes_changed),
        ):
            counts = [f"{sign}{len(ids)}" for sign, ids in (("+", added), ("-", removed), ("~", changed)) if ids]
            if counts:
                parts.append(f"{name} {' '.join(counts)}")
        if self.credentials_changed:
            parts.append("credentials changed")
        return ", ".join(parts) or "no changes"

    def to_json(self) -> dict:
        return {
            "tabs": {"added": self.tabs_added, "removed": self.tabs_removed, "changed": self.tabs_changed},
            "nodes": {"added": self.nodes_added, "removed": self.nodes_removed, "changed": self.nodes_changed},
            "credentialsChanged": self.credentials_changed,
        }


def _by_id(flows: list) -> dict[str, dict]:
    return {n["id"]: n for n in flows if isinstance(n, dict) and isinstance(n.get("id"), str)}


def diff(older: dict, newer: dict) -> Changes:
    """Changes from revision document `older` to `newer` (both loadable). A tab counts as changed when
    its own node or any node on it was added, removed or changed."""
    old, new = _by_id(flows_of(older)[0] or []), _by_id(flows_of(newer)[0] or [])
    c = Changes()
    touched_tabs: set[Any] = set()
    for nid in new.keys() - old.keys():
        (c.tabs_added if new[nid].get("type") == "tab" else c.nodes_added).append(nid)
    for nid in old.keys() - new.keys():
        (c.tabs_removed if old[nid].get("type") == "tab" else c.nodes_removed).append(nid)
    for nid in old.keys() & new.keys():
        if old[nid] != new[nid]:
            if new[nid].get("type") == "tab":
                touched_tabs.add(nid)
            else:
                c.nodes_changed.append(nid)
    for nid in c.nodes_added + c.nodes_changed:
        touched_tabs.add(new[nid].get("z"))
    for nid in c.nodes_removed + c.nodes_changed:
        touched_tabs.add(old[nid].get("z"))
    tabs_both = {nid for nid in old.keys() & new.keys() if new[nid].get("type") == "tab"}
    c.tabs_changed = sorted(t for t in touched_tabs if t in tabs_both)
    for ids in (c.tabs_added, c.tabs_removed, c.nodes_added, c.nodes_removed, c.nodes_changed):
        ids.sort()
    c.credentials_changed = (older.get("credentials") or None) != (newer.get("credentials") or None)
    return c


def tab_label(doc: dict, tab_id: str) -> str:
    for n in flows_of(doc)[0] or []:
        if isinstance(n, dict) and n.get("id") == tab_id:
            return str(n.get("label") or tab_id)
    return tab_id


def newest_revision(flows, projection: dict | None = None) -> dict | None:
    """The newest revision in `flows` (a pymongo collection): the numbered document with the highest _id,
    whether or not it can be loaded (database.json: revision.numbered, newestFirst); None when there is none."""
    return flows.find_one(layout.NUMBERED, sort=layout.NEWEST_FIRST, projection=projection)


def _whole(value: Any) -> int | None:
    """A revision number an instance record reports, as the storage counts it (Number.isSafeInteger)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        if float(value).is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return int(value)
    return None


def next_revision(db) -> int:
    """The next revision number, taken the way the storage takes it (numbering.js): the counter
    raised above every numbered revision and every number a live instance reports, then incremented."""
    from pymongo import ReturnDocument

    newest = newest_revision(layout.collection(db, "flows"), projection={"_id": 1})
    floor = math.floor(newest["_id"]) if newest else 0
    for rec in layout.collection(db, "instances").find({}, {"rev": 1, "latestRev": 1, "seenRev": 1}):
        for key in ("rev", "latestRev", "seenRev"):
            v = _whole(rec.get(key))
            if v is not None and v > floor:
                floor = v
    counters = layout.collection(db, layout.COUNTER.collection)
    counters.update_one({"_id": layout.COUNTER.id}, {"$max": {"seq": floor}}, upsert=True)
    doc = counters.find_one_and_update(
        {"_id": layout.COUNTER.id}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
    )
    return int(doc["seq"])
