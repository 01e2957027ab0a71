"""Flows the whole-stack tests deploy: endpoints that say which worker answered."""
from __future__ import annotations

import json

from tests.harness.flows import endpoint, tab


def whoami_flow(marker: str, path: str = "/whoami") -> list[dict]:
    """GET and POST <root><path> answer {"marker": marker, "port": <the worker's own port>}."""
    func = f"msg.payload = {{marker: {json.dumps(marker)}, port: msg.req.socket.localPort}};\nreturn msg;"
    nodes = [tab("tab-whoami", "whoami")] + endpoint("tab-whoami", "whoami", path, "get", func)
    post = endpoint("tab-whoami", "whoami-post", path, "post", func)
    for n in post:
        n["y"] = 160
    return nodes + post
