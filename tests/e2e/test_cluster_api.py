"""The editor's cluster API (docs/cluster.md) through the router, as a user's tooling calls it: every
instance and whether the workers serve the newest revision, the kept revisions, one revision's flows,
the diff of two, and a rollback that every worker then serves; and its refusals, each JSON: not logged
in (401), a read-only token changing something (403), an unknown revision (404), a malformed body (400).

Guards: the cluster could be seen and steered from the command line only, with a MongoDB URL that does
not reach production (DocumentDB in private subnets); the editor showed nothing of the workers."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from local_stack.admin import AdminClient
from local_stack.flows import credentials_flow, whoami_flow
from nodered_contract import database as layout
from nodered_status.revisions import next_revision

ENDPOINTS = [
    ("GET", "/cluster/status"),
    ("GET", "/cluster/revisions"),
    ("GET", "/cluster/revisions/1"),
    ("GET", "/cluster/diff?from=1&to=1"),
    ("POST", "/cluster/rollback"),
]


def admin(stack, scope: str = "*") -> AdminClient:
    client = AdminClient(stack.url, stack.editor_user, stack.editor_password, scope=scope)
    client.login()
    return client


def refused(r: requests.Response, status: int) -> str:
    """The refusal's reason, after checking its status and that it is JSON ({error, requestId})."""
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert isinstance(body["error"], str) and body["error"] and body["requestId"]
    return body["error"]


def post_raw(stack, body: str, content_type: str) -> requests.Response:
    headers = {**admin(stack).headers(), "Content-Type": content_type}
    return requests.post(stack.url + "/cluster/rollback", data=body, headers=headers, timeout=10)


def status_once_synced(client: AdminClient, rev: int, timeout: float = 15.0) -> dict:
    """/cluster/status once it says every worker serves `rev` (the workers' status records are written just
    after their /healthz turns ready), or the last answer when the timeout ends."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get("/cluster/status").json()
        if (body["newestRev"], body["inSync"]) == (rev, True) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def served_markers(stack, n: int = 9) -> set[str]:
    return {requests.get(stack.api_url + "/whoami", timeout=10).json()["marker"] for _ in range(n)}


def test_status_lists_every_instance_and_whether_every_worker_serves_the_newest_revision(shared_stack):
    stack = shared_stack
    rev = stack.deploy(whoami_flow(uuid.uuid4().hex[:8]))
    r = admin(stack).get("/cluster/status")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    body = status_once_synced(admin(stack), rev)
    assert (body["newestRev"], body["inSync"], body["workers"]) == (rev, True, {"total": 3, "serving": 3})
    assert (body["newest"]["rev"], body["newest"]["savedBy"]) == (rev, stack.editor_user)
    by_id = {i["id"]: i for i in body["instances"]}
    assert by_id[stack.editor.instance_id]["role"] == "editor"
    for w in stack.workers:
        i = by_id[w.instance_id]
        assert (i["role"], i["rev"], i["state"], i["behind"], i["stale"], i["problem"]) == (
            "worker",
            rev,
            "running",
            0,
            False,
            None,
        )
        assert i["lastSeen"] and i["lastSeenAgeSeconds"] < 30
    assert sum(1 for i in body["instances"] if i["leader"]) <= 1


def test_revisions_as_history_lists_them_and_one_revisions_flows_without_credentials(shared_stack):
    stack = shared_stack
    password = f"pw-{uuid.uuid4().hex[:8]}"
    first = stack.deploy(whoami_flow("first"))
    rev = stack.deploy(whoami_flow("second") + credentials_flow("api-user", password))
    stack.wait_recorded(rev)
    client = admin(stack)

    rows = client.get("/cluster/revisions").json()["revisions"]
    assert [r["rev"] for r in rows[:2]] == [rev, first]
    top = rows[0]
    assert (top["savedBy"], top["deployType"], top["previousRev"]) == (stack.editor_user, "full", first)
    assert top["changes"]["summary"] == "tabs +1 ~1, nodes +7 ~2, credentials changed"
    assert sorted(top["servedBy"]) == ["editor", "worker", "worker", "worker"]
    assert client.get("/cluster/revisions?limit=1").json()["revisions"][0]["rev"] == rev

    r = client.get(f"/cluster/revisions/{rev}")
    assert r.status_code == 200
    flows = r.json()["flows"]
    assert {n["id"] for n in flows} >= {"whoami-fn", "tab-secure", "c-secure-req"}
    assert all("credentials" not in n for n in flows)
    assert password not in r.text


def test_diff_names_what_changed_and_credentials_only_as_changed(shared_stack):
    stack = shared_stack
    password = f"pw-{uuid.uuid4().hex[:8]}"
    a = stack.deploy(whoami_flow("a"))
    b = stack.deploy(whoami_flow("b") + credentials_flow("api-user", password))
    r = admin(stack).get(f"/cluster/diff?from={a}&to={b}")
    assert r.status_code == 200
    d = r.json()
    assert (d["from"]["rev"], d["to"]["rev"]) == (a, b)
    assert [t["id"] for t in d["tabs"]["added"]] == ["tab-secure"]
    assert [(t["id"], t["properties"]) for t in d["tabs"]["changed"]] == [("tab-whoami", [])]
    assert [(n["id"], n["properties"]) for n in d["nodes"]["changed"]] == [
        ("whoami-fn", ["func"]),
        ("whoami-post-fn", ["func"]),
    ]
    assert d["credentialsChanged"] is True
    assert password not in r.text
    back = admin(stack).get(f"/cluster/diff?from={b}&to={a}").json()
    assert [t["id"] for t in back["tabs"]["removed"]] == ["tab-secure"]


def test_rollback_saves_a_new_revision_that_every_worker_then_serves(shared_stack):
    stack = shared_stack
    good, bad = f"good-{uuid.uuid4().hex[:6]}", f"bad-{uuid.uuid4().hex[:6]}"
    good_rev = stack.deploy(whoami_flow(good))
    bad_rev = stack.deploy(whoami_flow(bad))
    assert served_markers(stack) == {bad}
    client = admin(stack)

    r = client.post("/cluster/rollback", json={"rev": good_rev})
    assert r.status_code == 201, r.text
    saved = r.json()
    assert (saved["rollbackOf"], saved["savedBy"]) == (good_rev, stack.editor_user)
    assert saved["rev"] > bad_rev
    stack.wait_workers(saved["rev"])
    assert served_markers(stack) == {good}

    status = status_once_synced(client, saved["rev"])
    assert (status["newestRev"], status["inSync"]) == (saved["rev"], True)
    assert (status["newest"]["deployType"], status["newest"]["rollbackOf"]) == ("rollback", good_rev)
    row = client.get("/cluster/revisions").json()["revisions"][0]
    assert (row["rev"], row["deployType"], row["rollbackOf"], row["changes"]["summary"]) == (
        saved["rev"],
        "rollback",
        good_rev,
        "tabs ~1, nodes ~2",
    )
    # The editor loaded it too: a deploy after it goes on from there.
    stack.editor.wait_ready(rev=saved["rev"])
    assert stack.deploy(whoami_flow("after")) == saved["rev"] + 1


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_not_logged_in_is_401_with_a_json_reason(shared_stack, method, path):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        r = requests.request(method, shared_stack.url + path, headers=headers, json={"rev": 1}, timeout=10)
        assert "log in first" in refused(r, 401)
        assert r.headers["WWW-Authenticate"] == "Bearer"


def test_a_read_only_token_may_look_but_not_roll_back(shared_stack):
    """A token requested with scope "read" (Node-RED's read scope covers cluster.read, not cluster.write)."""
    stack = shared_stack
    rev = stack.deploy(whoami_flow(uuid.uuid4().hex[:8]))
    reader = admin(stack, scope="read")
    assert reader.get("/cluster/status").json()["newestRev"] == rev
    assert reader.get("/cluster/revisions").status_code == 200
    assert reader.get(f"/cluster/revisions/{rev}").status_code == 200
    assert reader.get(f"/cluster/diff?from={rev}&to={rev}").status_code == 200
    r = reader.post("/cluster/rollback", json={"rev": rev})
    assert "cluster.write" in refused(r, 403)
    assert admin(stack).get("/cluster/status").json()["newestRev"] == rev  # nothing saved


def test_an_unknown_revision_is_404(shared_stack):
    stack = shared_stack
    rev = stack.deploy(whoami_flow(uuid.uuid4().hex[:8]))
    client = admin(stack)
    unknown = 2**53 - 1  # a revision number the storage could hold, never given
    assert f"no revision {unknown} in the flows collection" in refused(client.get(f"/cluster/revisions/{unknown}"), 404)
    assert f"no revision {unknown}" in refused(client.get(f"/cluster/diff?from={rev}&to={unknown}"), 404)
    assert f"no revision {unknown}" in refused(client.post("/cluster/rollback", json={"rev": unknown}), 404)
    assert client.get("/cluster/status").json()["newestRev"] == rev  # nothing saved


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"rev":', "JSON"),
        ('{"rev": "1"}', "rev must be a revision number"),
        ('{"rev": 1.5}', "rev must be a revision number"),
        ('{"rev": 0}', "rev must be a revision number"),
        ('{"rev": 9007199254740993}', "rev must be a revision number"),
        ("[1]", "must be a JSON object"),
        ("{}", "rev must be a revision number"),
        ('{"rev": 1, "by": "someone"}', 'unknown field "by"'),
    ],
)
def test_a_malformed_rollback_body_is_400(shared_stack, body, reason):
    assert reason in refused(post_raw(shared_stack, body, "application/json"), 400)


def test_a_body_that_is_not_json_is_refused(shared_stack):
    assert "send a JSON body" in refused(post_raw(shared_stack, "rev=1", "text/plain"), 415)
    assert "send a JSON body" in refused(post_raw(shared_stack, "rev=1", "application/x-www-form-urlencoded"), 415)


def test_a_kept_revision_that_cannot_be_loaded_is_409(shared_stack):
    """A document inserted by hand without flows: listed by the history with its problem, refused (409) for
    its flows, a diff and a rollback; a deploy after it goes on as ever."""
    stack = shared_stack
    good = stack.deploy(whoami_flow(uuid.uuid4().hex[:8]))
    db = stack.mongo.client(tz_aware=True)[stack.db]
    bad = next_revision(db)
    layout.collection(db, "flows").insert_one({"_id": bad, "rev": bad, "savedBy": "ops", "credentials": None})
    after = stack.deploy(whoami_flow(uuid.uuid4().hex[:8]))
    client = admin(stack)
    why = f"revision {bad} cannot be loaded: it has no flows field"
    assert refused(client.get(f"/cluster/revisions/{bad}"), 409) == why
    assert refused(client.get(f"/cluster/diff?from={good}&to={bad}"), 409) == why
    assert refused(client.post("/cluster/rollback", json={"rev": bad}), 409) == why
    row = next(r for r in client.get("/cluster/revisions").json()["revisions"] if r["rev"] == bad)
    assert (row["problem"], row["changes"]) == ("it has no flows field", None)
    assert client.get("/cluster/status").json()["newestRev"] == after
