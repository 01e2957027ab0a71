"""Builders for the flows the tests, the benchmarks and `python -m local_stack up --demo` deploy.

marker_flow: GET <httpNodeRoot><path> answers {"marker": ..., "rev": ...}, so a test can tell which
deploy an instance serves. credentials_flow: an http request node with basic-auth credentials calls
a protected endpoint of the same flow on the same instance; it answers 200 only when the worker
decrypted the credentials the editor stored. whoami_flow and demo_flow: endpoints that say which
worker answered (its own port), for the whole stack behind the router.
"""

from __future__ import annotations

import base64
import json
import re

from nodered_contract import DEFAULT_HTTP_NODE_ROOT


def _slug(path: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", path).strip("-") or "root"


def tab(tab_id: str, label: str) -> dict:
    return {"id": tab_id, "type": "tab", "label": label, "disabled": False, "info": ""}


def function_node(
    node_id: str, tab_id: str, func: str, wires: list[list[str]], name: str = "", x: int = 300, y: int = 80
) -> dict:
    """A function node as the editor saves it; `wires`: a list of target ids per output."""
    return {"id": node_id, "type": "function", "z": tab_id, "name": name, "func": func, "outputs": len(wires),
            "timeout": 0, "noerr": 0, "initialize": "", "finalize": "", "libs": [], "x": x, "y": y,
            "wires": wires}  # fmt: skip


def http_request_node(
    node_id: str, tab_id: str, wires: list[list[str]], method: str = "GET", url: str = "", auth_type: str = "",
    name: str = "", y: int = 140, x: int = 480,
) -> dict:  # fmt: skip
    """An http request node answering text; auth_type "basic" takes the node's credentials (add them)."""
    return {"id": node_id, "type": "http request", "z": tab_id, "name": name, "method": method, "ret": "txt",
            "paytoqs": "ignore", "url": url, "tls": "", "persist": False, "proxy": "", "insecureHTTPParser": False,
            "authType": auth_type, "senderr": False, "headers": [], "x": x, "y": y, "wires": wires}  # fmt: skip


def endpoint(tab_id: str, node_prefix: str, path: str, method: str, func: str) -> list[dict]:
    """http in -> function -> http response; fixed node ids so repeated deploys modify the same nodes."""
    return [
        {
            "id": f"{node_prefix}-in",
            "type": "http in",
            "z": tab_id,
            "name": "",
            "url": path,
            "method": method,
            "upload": False,
            "swaggerDoc": "",
            "x": 120,
            "y": 80,
            "wires": [[f"{node_prefix}-fn"]],
        },
        function_node(f"{node_prefix}-fn", tab_id, func, [[f"{node_prefix}-out"]]),
        {
            "id": f"{node_prefix}-out",
            "type": "http response",
            "z": tab_id,
            "name": "",
            "statusCode": "",
            "headers": {},
            "x": 480,
            "y": 80,
            "wires": [],
        },
    ]


def marker_flow(marker: str, path: str = "/marker", seq: int | None = None) -> list[dict]:
    """One tab whose endpoint GET <path> answers JSON {"marker": marker, "seq": seq}."""
    slug = _slug(path)
    tab_id = f"tab-{slug}"
    body = json.dumps({"marker": marker, "seq": seq})
    func = f"msg.payload = {body};\nreturn msg;"
    return [tab(tab_id, f"marker {path}")] + endpoint(tab_id, f"m-{slug}", path, "get", func)


def whoami_flow(marker: str, path: str = "/whoami") -> list[dict]:
    """GET and POST <root><path> answer {"marker": marker, "port": <the worker's own port>}."""
    func = f"msg.payload = {{marker: {json.dumps(marker)}, port: msg.req.socket.localPort}};\nreturn msg;"
    nodes = [tab("tab-whoami", "whoami")] + endpoint("tab-whoami", "whoami", path, "get", func)
    post = endpoint("tab-whoami", "whoami-post", path, "post", func)
    for n in post:
        n["y"] = 160
    return nodes + post


def demo_flow() -> list[dict]:
    """GET <root>/hello answers which worker (port) served it."""
    func = "msg.payload = {hello: 'world', workerPort: msg.req.socket.localPort};\nreturn msg;"
    return [
        {"id": "demo-tab", "type": "tab", "label": "demo", "disabled": False, "info": ""},
        {
            "id": "demo-in",
            "type": "http in",
            "z": "demo-tab",
            "url": "/hello",
            "method": "get",
            "upload": False,
            "swaggerDoc": "",
            "x": 120,
            "y": 80,
            "wires": [["demo-fn"]],
        },
        function_node("demo-fn", "demo-tab", func, [["demo-out"]]),
        {
            "id": "demo-out",
            "type": "http response",
            "z": "demo-tab",
            "statusCode": "",
            "headers": {},
            "x": 480,
            "y": 80,
            "wires": [],
        },
    ]


def basic_auth_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def credentials_flow(
    user: str,
    password: str,
    http_node_root: str = DEFAULT_HTTP_NODE_ROOT,
    path: str = "/secure",
    marker: str = "secret-ok",
    expected_env: str | None = None,
) -> list[dict]:
    """GET <path> -> http request (basic auth from the node's credentials) -> GET <path>-protected.

    <path>-protected answers 200 "<marker>" only for the right Authorization header, else 401; the
    outer endpoint relays status and body. The request goes to the instance's own port. expected_env:
    the right header is the instance's environment variable of that name (each stack its own), not
    the one of `user` and `password`.
    """
    slug = _slug(path)
    tab_id = f"tab-{slug}"
    expected = f"env.get({json.dumps(expected_env)})" if expected_env else json.dumps(basic_auth_header(user, password))
    root = json.dumps(http_node_root.rstrip("/"))
    protected = path.rstrip("/") + "-protected"
    outer_fn = (
        f"msg.url = 'http://127.0.0.1:' + msg.req.socket.localPort + {root} + {json.dumps(protected)};\n"
        "delete msg.headers;\nreturn msg;"
    )
    inner_fn = (
        f"if (msg.req.headers.authorization === {expected}) {{\n"
        f"    msg.payload = {json.dumps(marker)};\n    msg.statusCode = 200;\n"
        "} else {\n    msg.payload = 'unauthorized';\n    msg.statusCode = 401;\n}\nreturn msg;"
    )
    outer = endpoint(tab_id, f"c-{slug}", path, "get", outer_fn)
    # Put the credentialed http request node between the function and the response.
    outer[1]["wires"] = [[f"c-{slug}-req"]]
    request_node = http_request_node(
        f"c-{slug}-req", tab_id, [[f"c-{slug}-out"]], auth_type="basic", name="call protected"
    )
    request_node["credentials"] = {"user": user, "password": password}
    inner = endpoint(tab_id, f"p-{slug}", protected, "get", inner_fn)
    return [tab(tab_id, f"credentials {path}")] + outer + [request_node] + inner


def served_marker(node_url: str, path: str = "/marker", timeout: float = 2.0) -> str | None:
    """The marker an instance's marker endpoint answers with (node_url includes httpNodeRoot), or None."""
    import requests

    try:
        r = requests.get(node_url + path, timeout=timeout)
    except requests.RequestException:
        return None
    if r.status_code != 200:
        return None
    try:
        return r.json().get("marker")
    except ValueError:
        return None


def wait_marker(
    node_url: str, marker: str, path: str = "/marker", timeout: float = 15.0, interval: float = 0.01
) -> float:
    """Poll until the endpoint answers with `marker`; returns the seconds it took. Raises on timeout."""
    import time

    start = time.monotonic()
    last = None
    while time.monotonic() - start < timeout:
        last = served_marker(node_url, path)
        if last == marker:
            return time.monotonic() - start
        time.sleep(interval)
    raise TimeoutError(f"{node_url}{path} did not serve {marker!r} within {timeout}s (last: {last!r})")
