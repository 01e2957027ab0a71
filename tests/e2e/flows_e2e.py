"""Flows the whole-stack tests deploy: endpoints that say which worker answered."""
from __future__ import annotations

import json

from tests.harness.flows import endpoint, tab


def whoami_flow(marker: str, path: str = "/whoami") -> list[dict]:
    """GET <root><path> answers {"marker": marker, "port": <the worker's own port>}."""
    func = f"msg.payload = {{marker: {json.dumps(marker)}, port: msg.req.socket.localPort}};\nreturn msg;"
    return [tab("tab-whoami", "whoami")] + endpoint("tab-whoami", "whoami", path, "get", func)
