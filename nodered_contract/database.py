"""The database contract for Python: nodered_image/database.json, loaded once (the storage module, the
shared context store and db_setup.js read the same file). Standard library only; collection() takes a
pymongo Database.

    DATABASE, REVISIONS_KEPT,       the defaults: database name, kept revisions, seconds after which an
    STALE_AFTER_SECONDS,            instance record is stale, seconds after which it expires
    STATUS_TTL_SECONDS
    COLLECTIONS                     every collection's name
    COUNTER, LEADER_LEASE           singleton documents: Singleton(collection, id)
    NUMBERED, NEWEST_FIRST          the filter of revision documents, their sort newest first
    SUMMARY                         a projection of a revision without its flows and credentials
    REVISION_FIELDS                 a revision document's fields

collection(db, name) -> pymongo Collection
    The collection, with the write concern database.json gives it; KeyError for a name it lacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATABASE_PATH = Path(__file__).resolve().parent.parent / "nodered_image" / "database.json"
LAYOUT: dict[str, Any] = json.loads(DATABASE_PATH.read_text())

_DEFAULTS = LAYOUT["defaults"]
DATABASE: str = _DEFAULTS["database"]
REVISIONS_KEPT: int = _DEFAULTS["revisionsKept"]
STALE_AFTER_SECONDS: float = float(_DEFAULTS["staleAfterSeconds"])
STATUS_TTL_SECONDS: int = _DEFAULTS["statusTtlSeconds"]

COLLECTIONS: frozenset[str] = frozenset(LAYOUT["collections"])


@dataclass(frozen=True)
class Singleton:
    collection: str
    id: str


def singleton(name: str) -> Singleton:
    entry = LAYOUT["singletons"].get(name)
    if entry is None:
        raise KeyError(f"database.json declares no singleton {name!r}")
    return Singleton(collection=entry["collection"], id=entry["_id"])


COUNTER = singleton("revisionCounter")
LEADER_LEASE = singleton("leaderLease")

_REVISION = LAYOUT["revision"]
NUMBERED: dict[str, Any] = _REVISION["numbered"]
NEWEST_FIRST: list[tuple[str, int]] = list(_REVISION["newestFirst"].items())
SUMMARY: dict[str, int] = {field: 0 for field in _REVISION["content"]}
REVISION_FIELDS: tuple[str, ...] = tuple(_REVISION["fields"])


def collection(db: Any, name: str) -> Any:
    """`db[name]` with the write concern database.json gives it (pymongo imported only here)."""
    spec = LAYOUT["collections"].get(name)
    if spec is None:
        raise KeyError(f"database.json declares no collection {name!r}")
    if "writeConcern" not in spec:
        return db[name]
    from pymongo import WriteConcern

    return db.get_collection(name, write_concern=WriteConcern(w=spec["writeConcern"]))


__all__ = [
    "COLLECTIONS",
    "COUNTER",
    "DATABASE",
    "DATABASE_PATH",
    "LAYOUT",
    "LEADER_LEASE",
    "NEWEST_FIRST",
    "NUMBERED",
    "REVISIONS_KEPT",
    "REVISION_FIELDS",
    "STALE_AFTER_SECONDS",
    "STATUS_TTL_SECONDS",
    "SUMMARY",
    "Singleton",
    "collection",
    "singleton",
]
