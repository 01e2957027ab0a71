"""The editor's library (Import/Export > Local) is stored in MongoDB: entries and folder listings survive a restart."""


def test_library_entries_and_listings_through_the_editor_api(editor, admin):
    r = admin.post(
        "/library/local/functions/util/strings/trim.js",
        json={"name": "trim", "outputs": 1, "text": "msg.payload = msg.payload.trim();"},
    )
    assert r.status_code == 204
    assert admin.post("/library/local/functions/top.js", json={"name": "top", "text": "return msg;"}).status_code == 204
    flows = [{"id": "a1", "type": "inject", "z": "", "wires": []}]
    assert admin.post("/library/local/flows/demo/sample", json=flows).status_code == 204

    editor.stop()
    editor.start()
    editor.wait_ready()

    assert admin.get("/library/local/functions/").json() == ["util", {"name": "top", "fn": "top.js"}]
    assert admin.get("/library/local/functions/util").json() == ["strings"]
    assert admin.get("/library/local/functions/util/strings").json() == [
        {"name": "trim", "outputs": 1, "fn": "trim.js"}
    ]
    r = admin.get("/library/local/functions/util/strings/trim.js")
    assert (r.status_code, r.text) == (200, "msg.payload = msg.payload.trim();")
    assert admin.get("/library/local/flows/demo/sample.json").json() == flows
    assert admin.get("/library/local/functions/util/missing.js").status_code == 404
