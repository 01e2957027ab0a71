"""The kept revisions as `history` lists them, as data: newest first, each with its problem if it cannot
be loaded, what changed from the loadable revision before it, and which live instances serve it or
could not start it. The editor's cluster API answers the same rows (nodered_image/lib/cluster/history.js);
both run the vectors of nodered_image/test/cluster_rules.json. Pure logic.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .clock import iso, utc
from .revisions import changes_json, describe_id, diff, document_problem, flows_of, with_flows_read


def is_live(record: dict, now: dt.datetime, stale_after: float) -> bool:
    """Whether an instance record was written within stale_after seconds (the report's rule too)."""
    seen = utc(record.get("lastSeen"))
    return seen is not None and (now - seen).total_seconds() <= stale_after


def build(
    docs: list[dict], strays: list[dict], instances: list[dict], now: dt.datetime, limit: int, stale_after: float
) -> dict[str, Any]:
    """docs: revision documents newest first (limit + 1: the oldest listed is compared with the one before
    it); strays: documents whose _id is no number; instances: the status records."""
    now = utc(now) or now
    read = [with_flows_read(d) for d in docs]
    problems = [document_problem(d) for d in read]
    live = [i for i in instances if is_live(i, now, stale_after)]
    rows = []
    for i, doc in enumerate(read[:limit]):
        older = None
        if problems[i] is None:
            older = next((read[j] for j in range(i + 1, len(read)) if problems[j] is None), None)
        served, failed = [], []
        for inst in live:
            role = str(inst.get("role") or "?")
            if inst.get("rev") == doc.get("_id") and inst.get("state") == "running":
                served.append(role)
            if inst.get("failedRev") == doc.get("_id"):
                failed.append({"role": role, "reason": str(inst.get("failure") or "?")})
        flows = flows_of(doc)[0]
        rows.append(
            {
                "rev": doc.get("_id"),
                "savedAt": iso(doc.get("savedAt")),
                "savedBy": doc.get("savedBy"),
                "deployType": doc.get("deployType"),
                "nodeRedVersion": doc.get("nodeRedVersion"),
                "rollbackOf": doc.get("rollbackOf"),
                "nodes": len(flows) if flows is not None else None,
                "problem": problems[i],
                "previousRev": older.get("_id") if older else None,
                "changes": changes_json(diff(older, doc)) if older else None,
                "restarts": doc.get("restarts") or 0,
                "restartedAt": iso(doc.get("restartedAt")),
                "restartedBy": doc.get("restartedBy"),
                # a deploy from files: its message, and the nodes whose credentials the stack lacked
                "message": doc.get("message"),
                "credentialsMissing": doc["credentialsMissing"]
                if isinstance(doc.get("credentialsMissing"), list)
                else [],
                "servedBy": served,
                "failedOn": failed,
            }
        )
    return {
        "now": iso(now),
        "revisions": rows,
        "notRevisions": [{"id": describe_id(s.get("_id")), "savedBy": s.get("savedBy")} for s in strays],
    }


def about(doc: dict) -> dict[str, Any]:
    """A revision's summary fields, as the editor's API gives them beside a revision's flows or a diff."""
    return {
        "rev": doc.get("_id"),
        "savedAt": iso(doc.get("savedAt")),
        "savedBy": doc.get("savedBy"),
        "deployType": doc.get("deployType"),
        "rollbackOf": doc.get("rollbackOf"),
        "nodeRedVersion": doc.get("nodeRedVersion"),
        "restarts": doc.get("restarts") or 0,
        "message": doc.get("message"),
    }


def compare(older: dict, newer: dict) -> dict[str, Any]:
    """What changed from one loadable revision document to another (GET /cluster/diff's answer)."""
    return {"from": about(older), "to": about(newer), **diff(older, newer)}
