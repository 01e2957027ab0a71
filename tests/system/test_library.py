"""The editor's library (Import/Export > Local) is stored in MongoDB: entries and folder listings survive
the editor's container, whose user dir dies with it (Fargate tasks, a replaced container)."""

from local_stack import AdminClient


def test_library_entries_are_in_mongodb_and_survive_a_new_editor_with_a_fresh_user_dir(
    nodered_factory, mongo_server, mongo_db
):
    """Guards: library entries kept in the user dir instead (lost with every replaced editor container),
    which a restart that keeps the same user dir, or a check through the editor alone, never notices."""
    first = nodered_factory("editor")
    first.wait_ready()
    admin = AdminClient(first.url, first.editor_user, first.editor_password)
    r = admin.post(
        "/library/local/functions/util/strings/trim.js",
        json={"name": "trim", "outputs": 1, "text": "msg.payload = msg.payload.trim();"},
    )
    assert r.status_code == 204
    assert admin.post("/library/local/functions/top.js", json={"name": "top", "text": "return msg;"}).status_code == 204
    flows = [{"id": "a1", "type": "inject", "z": "", "wires": []}]
    assert admin.post("/library/local/flows/demo/sample", json=flows).status_code == 204

    # The documents are in the database, one per entry.
    stored = {d["_id"]: d for d in mongo_server.client()[mongo_db].library.find()}
    assert set(stored) == {"functions:util/strings/trim.js", "functions:top.js", "flows:demo/sample.json"}
    assert stored["functions:util/strings/trim.js"]["body"] == "msg.payload = msg.payload.trim();"
    assert stored["functions:util/strings/trim.js"]["meta"] == {"name": "trim", "outputs": 1}

    # The editor's container is replaced: a new process with an empty user dir, the same database.
    first.stop()
    second = nodered_factory("editor")
    assert second.user_dir != first.user_dir
    second.wait_ready()
    admin = AdminClient(second.url, second.editor_user, second.editor_password)

    assert admin.get("/library/local/functions/").json() == ["util", {"name": "top", "fn": "top.js"}]
    assert admin.get("/library/local/functions/util").json() == ["strings"]
    assert admin.get("/library/local/functions/util/strings").json() == [
        {"name": "trim", "outputs": 1, "fn": "trim.js"}
    ]
    r = admin.get("/library/local/functions/util/strings/trim.js")
    assert (r.status_code, r.text) == (200, "msg.payload = msg.payload.trim();")
    assert admin.get("/library/local/flows/demo/sample.json").json() == flows
    assert admin.get("/library/local/functions/util/missing.js").status_code == 404
