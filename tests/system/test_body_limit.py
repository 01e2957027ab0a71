"""The body limit is configurable (stack config bodyLimitMb -> NODE_RED_BODY_LIMIT_MB) and one limit
on an instance: for a flow's endpoint and for a deploy alike, whatever the content type.

Guards: the limit was Node-RED's fixed 5 MB for JSON and urlencoded bodies only (answered 500 from a
flow), none at all for other bodies, and could not be set."""

import json

import requests

from local_stack import AdminClient
from local_stack.flows import endpoint, tab

ONE_MIB = 1024 * 1024
SIZE = (
    "const b = msg.req.body;\n"
    "msg.payload = {bytes: Buffer.isBuffer(b) ? b.length : Buffer.byteLength(typeof b === 'string' ? b : JSON.stringify(b))};\n"
    "return msg;"
)


def test_an_instance_started_with_a_1_mib_limit_applies_it_to_flows_and_deploys(nodered_factory):
    editor = nodered_factory("editor", body_limit_mb=1)
    worker = nodered_factory("worker", body_limit_mb=1)
    editor.wait_ready()
    admin = AdminClient(editor.url, editor.editor_user, editor.editor_password)
    rev = admin.deploy([tab("t", "size"), *endpoint("t", "size", "/size", "post", SIZE)])
    worker.wait_ready(rev=rev)

    under = b"u" * (ONE_MIB - 100)
    ok = requests.post(worker.node_url + "/size", data=under, headers={"Content-Type": "text/plain"}, timeout=10)
    assert (ok.status_code, ok.json()) == (200, {"bytes": len(under)})
    for content_type in ("application/json", "text/plain", "application/octet-stream"):
        body = json.dumps({"x": "o" * ONE_MIB}).encode()
        over = requests.post(worker.node_url + "/size", data=body, headers={"Content-Type": content_type}, timeout=10)
        assert over.status_code == 413, (content_type, over.status_code, over.text[:200])
        assert (over.json()["limit"], over.json()["limitBytes"]) == ("1 MiB", ONE_MIB)

    deploy = requests.post(
        editor.url + "/flows",
        data=json.dumps({"flows": [tab("t", "x" * ONE_MIB)]}),
        headers={**admin.headers(), "Content-Type": "application/json", "Node-RED-Deployment-Type": "full"},
        timeout=10,
    )
    assert deploy.status_code == 413
    assert deploy.json()["limitBytes"] == ONE_MIB
