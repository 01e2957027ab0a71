"""nodered_image/database.json, the database contract, against its Python readers and docs/instances.md.

Guards: the layout written twice again (a collection or singleton id named in code that the contract,
and so the storage and the other language, do not know of), its defaults disagreeing with the
environment contract's, and the table of collections in docs/instances.md drifting from it."""

import re
import subprocess
from pathlib import Path

import pymongo
import pytest

import nodered_contract as contract
from nodered_contract import database as layout

ROOT = Path(__file__).resolve().parents[2]

# Where Python code names a collection or a singleton id: collection(db, "x"), db["x"].find(...),
# db.get_collection("x"), {"_id": "x"}.
COLLECTION_NAMES = [
    re.compile(r"\bcollection\(\s*[\w.]+\s*,\s*\"([^\"]+)\""),
    re.compile(
        r"\w\[\s*\"([^\"]+)\"\s*\]\s*\.\s*(?:find|insert|update|delete|replace|count|aggregate|watch|drop|create_index)"
    ),
    re.compile(r"\bget_collection\(\s*\"([^\"]+)\""),
]
SINGLETON_IDS = [re.compile(r"\"_id\":\s*\"([^\"]+)\"")]


def product_files() -> list[Path]:
    """The repository's Python outside the tests, as git tracks it (and new files not yet added)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / f for f in listed if not f.startswith(("tests/", "venv/")) and (ROOT / f).exists()]


def named(patterns, files) -> list[tuple[str, str]]:
    found = []
    for path in files:
        code = "\n".join(ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#"))
        found += [(m.group(1), str(path.relative_to(ROOT))) for p in patterns for m in p.finditer(code)]
    return found


def test_every_collection_and_singleton_id_the_code_names_is_declared():
    files = product_files()
    collections, ids = named(COLLECTION_NAMES, files), named(SINGLETON_IDS, files)
    assert {"flows", "instances"} <= {name for name, _ in collections}, "the scan finds the status command's reads"
    assert [(n, f) for n, f in collections if n not in layout.COLLECTIONS] == []
    declared_ids = {s["_id"] for s in layout.LAYOUT["singletons"].values()}
    assert [(n, f) for n, f in ids if n not in declared_ids] == []


def test_a_collection_the_contract_lacks_is_refused_and_the_write_concern_is_the_contracts():
    db = pymongo.MongoClient("mongodb://127.0.0.1:1/", connect=False)["x"]
    with pytest.raises(KeyError, match="declares no collection 'flow'"):
        layout.collection(db, "flow")
    with pytest.raises(KeyError, match="no singleton"):
        layout.singleton("counter")
    assert layout.collection(db, "flows").write_concern.document == {"w": "majority"}
    assert layout.collection(db, "counters").write_concern.document == {"w": "majority"}
    assert layout.collection(db, "instances").write_concern.document == {}


def test_the_defaults_agree_with_the_environment_contract():
    """MONGO_DB and NODE_RED_REVISIONS_KEPT default, in contract.json, to what database.json says."""
    assert contract.DATABASE == layout.DATABASE == "nodered"
    assert int(contract.VARIABLES["NODE_RED_REVISIONS_KEPT"].default or 0) == layout.REVISIONS_KEPT
    assert (layout.COUNTER.id, layout.LEADER_LEASE.id) == ("flows", "flows-leader"), "ids deployed data holds"
    assert layout.SUMMARY == {"flowsJson": 0, "flows": 0, "credentials": 0}


def test_the_docs_table_lists_exactly_the_contracts_collections():
    page = (ROOT / "docs" / "instances.md").read_text()
    section = page.split("## How a deploy reaches the workers", 1)[1].split("\n- ", 1)[0]
    rows = [ln.split("|")[1] for ln in section.splitlines() if ln.startswith("| `")]
    listed = [name for cell in rows for name in re.findall(r"`(\w+)`", cell)]
    assert sorted(listed) == sorted(layout.COLLECTIONS)
