"""Rotating the credential key of a running stack under load (docs/operations.md, "Rotate the credential key"): the
instances are rolled onto the new key with the old one beside it, then onto the new key alone, as ECS rolls the
services after each `pulumi up`; flow requests whose answers need the stored credentials never fail meanwhile,
every kept revision decrypts with the new key afterwards, and an instance started with the old key refuses to
serve, saying why."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests

from local_stack import Load, NodeRedInstance
from local_stack.flows import credentials_flow
from local_stack.node_lines import line
from nodered_contract import database as layout

from ..fixtures.stacks import make_stack

ROOT = Path(__file__).resolve().parents[2]
CIPHER = ROOT / "nodered_image" / "storage" / "lib" / "credential_cipher.js"
OLD = "the-stacks-first-credential-key-0123"
NEW = "the-stacks-second-credential-key-4567"
KEY_DOC = layout.singleton("credentialKey")


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory, mongo_server):
    yield from make_stack(
        request, tmp_path_factory, "stack-key-rotation", workers=3, mongo=mongo_server, credential_secret=OLD
    )


def wait_until(condition, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def decrypting_with(key: str, ciphertexts: list[str]) -> list[str]:
    """Each ciphertext decrypted with `key` by the storage module's own cipher (an error names the one that fails)."""
    script = (
        "const { decryptText } = require(process.argv[1]);"
        "const out = JSON.parse(require('fs').readFileSync(0, 'utf8')).map((c) => decryptText(process.argv[2], c));"
        "process.stdout.write(JSON.stringify(out));"
    )
    done = subprocess.run(
        [str(line().node), "-e", script, str(CIPHER), key],
        input=json.dumps(ciphertexts),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_credential_key_is_rotated_under_load_without_a_failed_request(stack, mongo_server):
    """Guards: a rotated credentialSecret split the stack (new workers could not decrypt the stored revision and
    were rolled back to the old key while the editor ran the new one; its next deploy was encrypted with a key no
    worker had), and nothing re-encrypted what was stored or told a mismatched key apart."""
    db = mongo_server.client()[stack.db]
    admin = stack.admin()
    # Three kept revisions, each with credentials of its own; the newest runs.
    for password in ("first pass", "second pass", "third pass ✓"):
        rev = stack.deploy(credentials_flow("api-user", password, http_node_root=stack.http_node_root), admin=admin)
    assert requests.get(stack.api_url + "/secure", timeout=10).text == "secret-ok"
    kept = db.flows.find({"_id": {"$type": "number"}, "credentials.encrypted": {"$exists": True}})
    before = {d["_id"]: (d["deployId"], d["credentials"]["encrypted"]) for d in kept}
    assert len(before) == 3

    with Load(stack.api_url + "/secure", threads=3, interval=0.01, retry_reused_connection=True) as load:
        wait_until(lambda: sum(o.ok for o in load.snapshot()) >= 30, what="the load running")
        # `pulumi up` with credentialSecret new and previousCredentialSecret the old key: the editor is replaced
        # first here (ECS may do either first) and re-encrypts what is kept, then the workers roll.
        stack.roll([stack.editor], NEW, OLD)
        key = db[KEY_DOC.collection].find_one({"_id": KEY_DOC.id})
        assert key["previous"] and key["fingerprint"] != key["previous"], "the editor rotated the database's key"
        stack.roll(stack.workers, NEW, OLD)
        # `pulumi up` without previousCredentialSecret: everything on the new key alone.
        stack.roll([*stack.workers, stack.editor], NEW)
        served_after = time.monotonic()
        wait_until(lambda: sum(o.ok for o in load.snapshot() if o.at > served_after) >= 30, what="serving after")
        outcomes = load.stop()

    failed = [o for o in outcomes if not o.ok or o.body != "secret-ok"]
    assert failed == [], [(o.status, o.error or o.body[:80]) for o in failed[:5]]
    print(f"{len(outcomes)} requests through the router during the rotation, none failed")

    # Every kept revision is the same revision as before, its credentials decrypting with the new key alone.
    after = {d["_id"]: d for d in db.flows.find({"_id": {"$in": list(before)}})}
    assert {r: d["deployId"] for r, d in after.items()} == {r: v[0] for r, v in before.items()}
    assert all(d["credentials"]["encrypted"] != before[r][1] for r, d in after.items())
    plain = decrypting_with(NEW, [after[r]["credentials"]["encrypted"] for r in sorted(after)])
    assert [json.loads(p)["c-secure-req"]["password"] for p in plain] == [
        "first pass",
        "second pass",
        "third pass ✓",
    ]
    # A deploy after the rotation: the editor saves with the new key, every worker serves it.
    rev = stack.deploy(credentials_flow("api-user", "fourth pass", http_node_root=stack.http_node_root), admin=admin)
    assert decrypting_with(NEW, [db.flows.find_one({"_id": rev})["credentials"]["encrypted"]])

    # A worker started with only the old key refuses to serve, and says why.
    late = NodeRedInstance(
        "worker", stack.mongo.url, stack.db, credential_secret=OLD, user_dir=stack.base_dir / "late-worker"
    )
    with late:
        found: list[dict] = []

        def refusing() -> bool:
            try:
                found[:] = [late.healthz()]
            except requests.RequestException:
                return False
            return found[0]["state"] == "error"

        wait_until(refusing, what="the old-key worker's refusal")
        h = found[0]
        assert (h["status_code"], h["ready"], h["rev"]) == (503, False, None)
        assert "is the key this database's credentials were rotated away from" in h["message"]
        wait_until(lambda: h["message"] in late.log_text(), what="its log line")
        record = db.instances.find_one({"_id": late.instance_id})
        assert (record["state"], record["message"]) == ("error", h["message"])
