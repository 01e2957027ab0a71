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


KINDS = ("tabs", "subflows", "nodes")


def _kind_of(node: dict) -> str:
    t = node.get("type")
    return "tabs" if t == "tab" else "subflows" if t == "subflow" else "nodes"


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values (key order aside), as the editor's rule has it: a boolean never equals a number."""
    if isinstance(a, list) or isinstance(b, list):
        return isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _item(n: dict) -> dict:
    """How a node is named in a diff: id, type, its name (a tab's label), where it sits (z)."""
    return {
        "id": n["id"],
        "type": n.get("type"),
        "name": _text(n.get("label") if n.get("type") == "tab" else n.get("name")),
        "z": _text(n.get("z")),
    }


def _by_id(flows: list) -> dict[str, dict]:
    return {n["id"]: n for n in flows if isinstance(n, dict) and isinstance(n.get("id"), str)}


def _properties(a: dict, b: dict) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if not (k in a and k in b and same(a[k], b[k])))


def diff(older: dict, newer: dict) -> dict:
    """What changed from revision document `older` to `newer` (both loadable), the editor's rules
    (nodered_image/lib/cluster/diff.js; both run nodered_image/test/cluster_rules.json): tabs, subflows
    and nodes added, removed and changed, each changed one with the names of its properties that differ
    (never values). A tab or subflow counts as changed when its own properties or any node on it changed.
    Credentials are stored encrypted as one: only whether they changed."""
    old, new = _by_id(flows_of(older)[0] or []), _by_id(flows_of(newer)[0] or [])
    out: dict[str, Any] = {kind: {"added": [], "removed": [], "changed": []} for kind in KINDS}
    touched: set[Any] = set()
    own: dict[str, list[str]] = {}
    for nid in new.keys() - old.keys():
        out[_kind_of(new[nid])]["added"].append(_item(new[nid]))
    for nid in old.keys() - new.keys():
        out[_kind_of(old[nid])]["removed"].append(_item(old[nid]))
    for nid in old.keys() & new.keys():
        props = _properties(old[nid], new[nid])
        if not props:
            continue
        if _kind_of(new[nid]) != "nodes":
            own[nid] = props
        else:
            out["nodes"]["changed"].append({**_item(new[nid]), "properties": props})
            touched.update((new[nid].get("z"), old[nid].get("z")))
    for n in out["nodes"]["added"] + out["nodes"]["removed"]:
        touched.add(n["z"])
    for nid, n in new.items():
        kind = _kind_of(n)
        if kind != "nodes" and nid in old and (nid in own or nid in touched):
            out[kind]["changed"].append({**_item(n), "properties": own.get(nid, [])})
    for kind in KINDS:
        for items in out[kind].values():
            items.sort(key=lambda i: i["id"])
    stored_old, stored_new = older.get("credentials") or None, newer.get("credentials") or None
    out["credentialsChanged"] = not same(stored_old, stored_new)
    return out


def summary(d: dict) -> str:
    """One line: "tabs +1 ~1, subflows -1, nodes +3 ~2, credentials changed" (history's CHANGES)."""
    parts = []
    for kind in KINDS:
        counts = [
            f"{sign}{len(d[kind][k])}" for sign, k in (("+", "added"), ("-", "removed"), ("~", "changed")) if d[kind][k]
        ]
        if counts:
            parts.append(f"{kind} {' '.join(counts)}")
    if d["credentialsChanged"]:
        parts.append("credentials changed")
    return ", ".join(parts) or "no changes"


def changes_json(d: dict) -> dict:
    """A diff as history rows carry it: ids only (the editor's GET /cluster/diff has the details)."""
    out: dict[str, Any] = {"credentialsChanged": d["credentialsChanged"], "summary": summary(d)}
    for kind in KINDS:
        out[kind] = {k: [i["id"] for i in items] for k, items in d[kind].items()}
    return out


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
