"""Publishing an API with the stack (docs/api.md), through the router as its clients reach it: auth rules
of each type, CORS, a rate limit per client address, a function node using a baked npm module, a deploy
naming a module the image lacks, and the OpenAPI document following the deploys.

Guards: the flows' endpoints had no way to require a credential short of a check in every flow, answered
no browser on another origin, let one client take every worker's capacity (the router limited only the
editor's paths), refused every npm module in function nodes, and described themselves to nobody.
Each test sends from a loopback address of its own (127.0.0.x): the rate limit counts by address."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from local_stack import LocalStack
from local_stack.flows import endpoint, tab
from local_stack.http_api import HttpApi, bake_function_modules
from local_stack.raw_client import Reply, send
from tests.fixtures.stacks import deployed_stack

ROOT = "/red-nodes"
TOKENS = {"orders-client": "orders-token-0123456789abcdef", "docs-client": "docs-token-0123456789abcdef0"}
USERS = {"carol": "carol-password-1", "dave": "dave-password-1"}
ORIGIN = "https://app.example.com"
API = {
    "auth": {
        "default": "none",
        "rules": [
            {"path": "/orders/public", "type": "none"},
            {"path": "/orders/*", "type": "bearer"},
            {"path": "/admin/**", "type": "basic", "names": ["carol"]},
            {"path": "/openapi.json", "type": "bearer", "names": ["docs-client"]},
        ],
    },
    "cors": {"origins": [ORIGIN], "headers": ["Authorization", "Content-Type"], "credentials": True},
    "rateLimit": {"perSecond": 20, "burst": 20},
}
FUNCTION_MODULE = Path(__file__).resolve().parents[1] / "fixtures" / "function_module"
# Says who the flow was told asked, and whether the credential itself reached it.
WHO = (
    "msg.payload = {auth: msg.req.auth, authorization: msg.req.headers.authorization || null,"
    " port: msg.req.socket.localPort};\nreturn msg;"
)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def bearer(client: str) -> str:
    return f"Bearer {TOKENS[client]}"


def flows(extra: list[dict] | None = None) -> list[dict]:
    nodes = [tab("tab-api", "api")]
    for prefix, url, method in (
        ("order", "/orders/:id", "get"),
        ("public", "/orders/public", "get"),
        ("admin", "/admin/reports", "get"),
        ("hello", "/hello", "get"),
        ("post", "/orders/:id", "post"),
    ):
        nodes += endpoint("tab-api", prefix, url, method, WHO)
    shout = endpoint("tab-api", "shout", "/shout", "get", "msg.payload = lib.shout(msg.req.query.text);\nreturn msg;")
    shout[1]["libs"] = [{"var": "lib", "module": "nodered-scale-test-shout"}]
    return nodes + shout + (extra or [])


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory, mongo_server):
    # The image bakes image.functionModules with this script; here a local package, not the registry.
    modules = bake_function_modules(tmp_path_factory.mktemp("function-modules"), [str(FUNCTION_MODULE)])
    api = HttpApi(
        auth=API["auth"],
        cors=API["cors"],
        rate_limit=API["rateLimit"],
        openapi=True,
        users=USERS,
        tokens=TOKENS,
        function_modules_dir=modules,
    )
    yield from deployed_stack(request, tmp_path_factory, "api-stack", flows(), workers=2, mongo=mongo_server, api=api)


def get(stack: LocalStack, path: str, source: str, headers: dict | None = None, method: str = "GET") -> Reply:
    reply = send(stack.router.port, method, ROOT + path, headers or {}, source=source)
    assert reply.status is not None, reply.error
    return reply


def test_bearer_rule_missing_wrong_and_right_token(stack):
    src = "127.0.0.61"
    missing = get(stack, "/orders/7", src)
    assert missing.status == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="nodered-scale"'
    assert missing.json()["error"] == "credentials required" and missing.json()["requestId"]
    wrong = get(stack, "/orders/7", src, {"Authorization": "Bearer not-the-token-0123456789"})
    assert wrong.status == 401 and 'error="invalid_token"' in wrong.headers["www-authenticate"]
    # A user's password is no token.
    assert get(stack, "/orders/7", src, {"Authorization": f"Bearer {USERS['carol']}"}).status == 401
    right = get(stack, "/orders/7", src, {"Authorization": bearer("orders-client")})
    assert right.status == 200
    # The flow is told who asked, and never sees the token.
    assert right.json()["auth"] == {"type": "bearer", "name": "orders-client"}
    assert right.json()["authorization"] is None


def test_basic_rule_with_names_missing_wrong_right_and_not_listed(stack):
    src = "127.0.0.62"
    missing = get(stack, "/admin/reports", src)
    assert missing.status == 401
    assert missing.headers["www-authenticate"] == 'Basic realm="nodered-scale", charset="UTF-8"'
    assert get(stack, "/admin/reports", src, {"Authorization": basic("carol", "wrong-password")}).status == 401
    # A client's token is no password.
    assert get(stack, "/admin/reports", src, {"Authorization": basic("carol", TOKENS["orders-client"])}).status == 401
    assert get(stack, "/admin/reports", src, {"Authorization": bearer("orders-client")}).status == 401
    right = get(stack, "/admin/reports", src, {"Authorization": basic("carol", USERS["carol"])})
    assert (right.status, right.json()["auth"]) == (200, {"type": "basic", "name": "carol"})
    # dave's password is right, but the rule names carol only.
    other = get(stack, "/admin/reports", src, {"Authorization": basic("dave", USERS["dave"])})
    assert (other.status, other.json()["error"]) == (403, "user not allowed here")


def test_public_paths_need_nothing_and_the_first_matching_rule_wins(stack):
    src = "127.0.0.63"
    hello = get(stack, "/hello", src)
    assert (hello.status, hello.json()["auth"]) == (200, {"type": "none", "name": None})
    # /orders/public matches the none rule before /orders/*.
    assert get(stack, "/orders/public", src).status == 200
    # A client's Authorization header on a public path reaches the flow untouched (it is not ours).
    assert get(stack, "/hello", src, {"Authorization": "Bearer something-else"}).json()["authorization"] == (
        "Bearer something-else"
    )


def test_cors_preflight_answered_without_a_flow_and_only_for_listed_origins(stack):
    src = "127.0.0.64"
    ask = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    # A protected path, and one no flow serves: the preflight is answered before auth and any flow.
    for path in ("/orders/7", "/no-flow-here"):
        pre = get(stack, path, src, ask, method="OPTIONS")
        assert pre.status == 204, (path, pre.status, pre.text)
        assert pre.headers["access-control-allow-origin"] == ORIGIN
        assert pre.headers["access-control-allow-credentials"] == "true"
        assert "POST" in pre.headers["access-control-allow-methods"]
        assert pre.headers["access-control-allow-headers"] == "Authorization,Content-Type"
        assert "origin" in pre.headers["vary"].lower()
    stranger = get(stack, "/orders/7", src, {**ask, "Origin": "https://evil.example"}, method="OPTIONS")
    assert stranger.status == 204
    assert not [h for h in stranger.headers if h.startswith("access-control-")], stranger.headers


def test_cors_actual_request_from_listed_origin_even_when_refused(stack):
    src = "127.0.0.65"
    ok = get(stack, "/orders/7", src, {"Origin": ORIGIN, "Authorization": bearer("orders-client")})
    assert (ok.status, ok.headers["access-control-allow-origin"]) == (200, ORIGIN)
    # A browser app can read the 401 too.
    refused = get(stack, "/orders/7", src, {"Origin": ORIGIN})
    assert (refused.status, refused.headers["access-control-allow-origin"]) == (401, ORIGIN)
    stranger = get(stack, "/hello", src, {"Origin": "https://evil.example"})
    assert stranger.status == 200
    assert not [h for h in stranger.headers if h.startswith("access-control-")]


def test_a_client_over_the_rate_limit_gets_429_while_another_is_served(stack):
    flood, other = "127.0.0.66", "127.0.0.67"
    statuses = [get(stack, "/hello", flood).status for _ in range(80)]
    assert 429 in statuses and statuses[:20] == [200] * 20, statuses
    limited = get(stack, "/hello", flood)
    while limited.status != 429:  # the bucket refills at 20 a second: drain it again
        limited = get(stack, "/hello", flood)
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["error"] == "too many requests or connections from this address"
    assert limited.json()["requestId"]
    # The other client, at the same moment, is not affected.
    assert [get(stack, "/hello", other).status for _ in range(10)] == [200] * 10
    rid = limited.json()["requestId"]
    logged = stack.router.access_log(until=lambda es: any(e["request_id"] == rid for e in es))
    entry = next(e for e in logged if e["request_id"] == rid)
    assert (entry["limit_req"], entry["upstream_addr"]) == ("REJECTED", "")


def test_a_function_node_uses_a_baked_module(stack):
    reply = get(stack, "/shout?text=hello", "127.0.0.68")
    assert (reply.status, reply.text) == (200, "HELLO!")


def test_a_deploy_naming_a_module_the_image_lacks_is_refused(stack):
    admin = stack.admin()
    before = admin.get_flows()["rev"]
    extra = endpoint("tab-api", "pad", "/pad", "get", "msg.payload = leftPad('1', 3); return msg;")
    extra[1]["libs"] = [{"var": "leftPad", "module": "left-pad@1.3.0"}]
    r = admin.post("/flows", json={"flows": flows(extra)})
    assert r.status_code == 400
    assert r.json()["code"] == "missing_function_modules"
    assert '"left-pad" (node "pad-fn")' in r.json()["message"] and "image.functionModules" in r.json()["message"]
    assert admin.get_flows()["rev"] == before, "nothing saved"
    assert get(stack, "/pad", "127.0.0.68").status == 404


def openapi(stack: LocalStack, source: str) -> dict:
    reply = get(stack, "/openapi.json", source, {"Authorization": bearer("docs-client")})
    assert reply.status == 200, reply.text
    return reply.json()


def operations(doc: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, ops in doc["paths"].items() for method in ops}


def test_openapi_document_matches_the_endpoints_before_and_after_a_deploy(stack):
    src = "127.0.0.69"
    # The document follows the auth rule of its own path.
    assert get(stack, "/openapi.json", src).status == 401
    assert get(stack, "/openapi.json", src, {"Authorization": bearer("orders-client")}).status == 403
    doc = openapi(stack, src)
    base = {
        ("get", "/orders/{id}"),
        ("post", "/orders/{id}"),
        ("get", "/orders/public"),
        ("get", "/admin/reports"),
        ("get", "/hello"),
        ("get", "/shout"),
        ("get", "/openapi.json"),
    }
    assert operations(doc) == base
    assert doc["servers"] == [{"url": ROOT}]
    order = doc["paths"]["/orders/{id}"]["get"]
    assert order["security"] == [{"bearer": []}] and order["x-nodered-scale-auth"]["rule"] == "/orders/*"
    assert order["parameters"] == [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    assert doc["paths"]["/admin/reports"]["get"]["x-nodered-scale-auth"] == {
        "rule": "/admin/**",
        "type": "basic",
        "names": ["carol"],
    }
    assert doc["paths"]["/hello"]["get"]["security"] == []

    items = endpoint("tab-api", "items", "/orders/:id/items/:item", "get", WHO)
    # The node's own swaggerDoc (an OpenAPI operation object; node-red-node-swagger's config node, which
    # this image does not bake, is read the same way: nodered_image/test/http_api.test.js).
    items[0]["swaggerDoc"] = {"summary": "Items of an order", "tags": ["orders"]}
    rev = stack.deploy(flows(items))
    # Every worker describes the new revision: each request may reach another one.
    for _ in range(2 * len(stack.workers)):
        after = openapi(stack, src)
        assert after["info"]["version"] == str(rev)
        assert operations(after) == base | {("get", "/orders/{id}/items/{item}")}
        op = after["paths"]["/orders/{id}/items/{item}"]["get"]
        assert (op["summary"], op["tags"]) == ("Items of an order", ["orders"])
        assert [p["name"] for p in op["parameters"]] == ["id", "item"]
    stack.deploy(flows())
    assert operations(openapi(stack, src)) == base


def test_a_flow_of_its_own_at_openapi_json_is_refused_while_the_document_is_on(stack):
    admin = stack.admin()
    before = admin.get_flows()["rev"]
    own = endpoint("tab-api", "own-doc", "/openapi.json", "get", "msg.payload = {}; return msg;")
    r = admin.post("/flows", json={"flows": flows(own)})
    assert (r.status_code, r.json()["code"]) == (400, "openapi_path_taken")
    assert "http.openapi" in r.json()["message"]
    assert admin.get_flows()["rev"] == before


def test_a_websocket_under_a_protected_path_needs_the_credential_too(stack):
    src = "127.0.0.70"
    upgrade = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}  # fmt: skip
    refused = get(stack, "/orders/feed", src, upgrade)
    assert refused.status == 401 and refused.json()["error"] == "credentials required"
    # With the token it gets past auth (no websocket node there: 404 from the instance).
    past = get(stack, "/orders/feed", src, {**upgrade, "Authorization": bearer("orders-client")})
    assert past.status == 404, past.text
