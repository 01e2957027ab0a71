"""The flows' HTTP API settings (contract.json httpApi) mean the same to the stack config and to the image:
what one accepts the other starts with, what one refuses the other refuses, naming the key or variable.

Guards: a stack whose auth rules, users, tokens, CORS origins or rate limit the config accepts and every
worker then refuses to start with (a full outage at `up`), or a value the config refuses that the image
would have run; and an instance started with a malformed variable by hand running without its rules."""

import json

import pytest
from pulumi import RunError

import nodered_contract as contract
from stack_config import parse

from .node import load_settings

BASE = {"MONGO_URL": "mongodb://127.0.0.1:1/?replicaSet=rs0", "NODE_RED_CREDENTIAL_SECRET": "a-credential-secret"}
STACK = {
    "editorPassword": "correct-horse-battery",
    "credentialSecret": "kept-credential-secret-0123456789",
    "mongoRootPassword": "kept-root-password-0123456789",
    "mongoAppPassword": "kept-app-password-0123456789",
    "mongoKeyFile": "a2VwdC1rZXktZmlsZQ==",
}
USERS = {"carol": "carol-password-1"}
TOKENS = {"shop": "shop-token-0123456789abcdef"}


def rules(*pairs) -> dict:
    return {"auth": {"rules": [{"path": p, "type": t} for p, t in pairs]}}


# (http, users, tokens, accepted, variable the image names when it refuses)
CASES = [
    (
        rules(("/orders/*", "bearer"), ("/admin/**", "basic"), ("/", "none"), ("/**", "basic")),
        USERS,
        TOKENS,
        True,
        None,
    ),
    (rules(("/a.b/~x/caf\u00e9/:id/(x)", "none")), {}, {}, True, None),
    (rules(("/orders*", "none")), {}, {}, False, "NODE_RED_HTTP_AUTH"),
    (rules(("/a/**b", "none")), {}, {}, False, "NODE_RED_HTTP_AUTH"),
    (rules(("orders", "none")), {}, {}, False, "NODE_RED_HTTP_AUTH"),
    (rules(("/a//b", "none")), {}, {}, False, "NODE_RED_HTTP_AUTH"),
    (rules(("/a/", "none")), {}, {}, False, "NODE_RED_HTTP_AUTH"),
    (rules(("/a/..", "none")), {}, {}, False, "NODE_RED_HTTP_AUTH"),
    (rules(("/a%2Fb", "none")), {}, {}, False, "NODE_RED_HTTP_AUTH"),
    (rules(("/a b", "none")), {}, {}, False, "NODE_RED_HTTP_AUTH"),
    (rules(("/a?x", "none")), {}, {}, False, "NODE_RED_HTTP_AUTH"),
    (rules(("/a", "none"), ("/a", "none")), {}, {}, False, "NODE_RED_HTTP_AUTH"),
    (rules(("/a", "basic")), {}, TOKENS, False, "NODE_RED_HTTP_AUTH"),
    ({"auth": {"rules": [{"path": "/a", "type": "basic", "names": ["dave"]}]}}, USERS, {}, False, "NODE_RED_HTTP_AUTH"),
    (
        {"auth": {"rules": [{"path": "/a", "type": "bearer", "names": ["carol"]}]}},
        USERS,
        TOKENS,
        False,
        "NODE_RED_HTTP_AUTH",
    ),
    ({"auth": {"rules": [{"path": "/a", "type": "none", "names": ["carol"]}]}}, USERS, {}, False, "NODE_RED_HTTP_AUTH"),
    ({}, {"carol": "short"}, {}, False, "NODE_RED_HTTP_USERS"),
    ({}, {"ca:rol": "long-enough-pw"}, {}, False, "NODE_RED_HTTP_USERS"),
    ({}, {}, {"shop": "has a space in it, long"}, False, "NODE_RED_HTTP_TOKENS"),
    ({}, {}, {"a": TOKENS["shop"], "b": TOKENS["shop"]}, False, "NODE_RED_HTTP_TOKENS"),
    ({}, {"carol": "carol-password-1"}, {"carol": TOKENS["shop"]}, False, "NODE_RED_HTTP_TOKENS"),
    (
        {"cors": {"origins": ["https://app.example.com", "http://127.0.0.1:8080", "http://[::1]:3000"]}},
        {},
        {},
        True,
        None,
    ),
    ({"cors": {"origins": ["*"], "methods": ["GET", "POST"], "headers": ["X-Api-Key"]}}, {}, {}, True, None),
    ({"cors": {"origins": ["app.example.com"]}}, {}, {}, False, "NODE_RED_HTTP_CORS"),
    ({"cors": {"origins": ["https://app.example.com/"]}}, {}, {}, False, "NODE_RED_HTTP_CORS"),
    ({"cors": {"origins": ["https://a.example", "https://A.example"]}}, {}, {}, False, "NODE_RED_HTTP_CORS"),
    ({"cors": {"origins": ["*"], "credentials": True}}, {}, {}, False, "NODE_RED_HTTP_CORS"),
    ({"cors": {"origins": []}}, {}, {}, False, "NODE_RED_HTTP_CORS"),
    ({"cors": {"origins": ["*"], "methods": ["TRACE"]}}, {}, {}, False, "NODE_RED_HTTP_CORS"),
    ({"cors": {"origins": ["*"], "methods": ["get"]}}, {}, {}, False, "NODE_RED_HTTP_CORS"),
    ({"cors": {"origins": ["*"], "headers": ["X-Key", "x-key"]}}, {}, {}, False, "NODE_RED_HTTP_CORS"),
    ({"rateLimit": {"perSecond": 20, "burst": 40}}, {}, {}, True, None),
    ({"rateLimit": {"perSecond": 1, "burst": 0}}, {}, {}, True, None),
    ({"rateLimit": {"perSecond": 0}}, {}, {}, False, "NODE_RED_HTTP_RATE_LIMIT"),
    ({"rateLimit": {"perSecond": -3}}, {}, {}, False, "NODE_RED_HTTP_RATE_LIMIT"),
    ({"rateLimit": {"perSecond": 2.5}}, {}, {}, False, "NODE_RED_HTTP_RATE_LIMIT"),
    ({"rateLimit": {"perSecond": 10, "burst": -1}}, {}, {}, False, "NODE_RED_HTTP_RATE_LIMIT"),
]


def python_accepts(http: dict, users: dict, tokens: dict) -> bool:
    try:
        parse({**STACK, "http": http, "httpUsers": users, "httpTokens": tokens})
    except RunError:
        return False
    return True


def image_env(http: dict, users: dict, tokens: dict) -> dict[str, str]:
    """What a deploy target gives a worker for this config (the variables as nodered_contract writes them)."""
    extra = {}
    for key, name in (
        ("auth", "NODE_RED_HTTP_AUTH"),
        ("cors", "NODE_RED_HTTP_CORS"),
        ("rateLimit", "NODE_RED_HTTP_RATE_LIMIT"),
    ):
        if key in http:
            extra[name] = http[key]
    env = contract.environment("worker", extra=extra)
    secrets = {
        "NODE_RED_HTTP_USERS": json.dumps(users) if users else None,
        "NODE_RED_HTTP_TOKENS": json.dumps(tokens) if tokens else None,
    }
    return {**BASE, **env, **{k: v for k, v in secrets.items() if v is not None}}


def test_the_image_and_the_stack_config_accept_and_refuse_the_same_settings():
    results = load_settings(*(image_env(http, users, tokens) for http, users, tokens, _, _ in CASES))
    for (http, users, tokens, accepted, variable), result in zip(CASES, results, strict=True):
        case = (http, sorted(users), sorted(tokens))
        assert (case, python_accepts(http, users, tokens), result["error"] is None) == (case, accepted, accepted), (
            result["error"]
        )
        if not accepted:
            assert result["error"].startswith(variable), result["error"]
            for secret in [*users.values(), *tokens.values()]:
                assert secret not in result["error"], "a secret in the error"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NODE_RED_HTTP_AUTH", "{rules: []}", "NODE_RED_HTTP_AUTH must be a JSON object"),
        ("NODE_RED_HTTP_AUTH", "[]", "NODE_RED_HTTP_AUTH must be a JSON object"),
        ("NODE_RED_HTTP_AUTH", '{"rule": []}', "NODE_RED_HTTP_AUTH: rule: unknown key"),
        (
            "NODE_RED_HTTP_CORS",
            '{"origins": "https://a.example"}',
            "NODE_RED_HTTP_CORS: origins: must be a non-empty list",
        ),
        ("NODE_RED_HTTP_RATE_LIMIT", '{"perSecond": "20"}', "NODE_RED_HTTP_RATE_LIMIT: perSecond: must be an integer"),
        ("NODE_RED_HTTP_OPENAPI", "yes", "NODE_RED_HTTP_OPENAPI must be one of true, false"),
    ],
)
def test_a_malformed_variable_stops_the_instance_naming_it(name, value, message):
    [result] = load_settings({**BASE, "NODE_RED_ROLE": "worker", name: value})
    assert result["error"] is not None and message in result["error"], result["error"]


def test_python_writes_the_json_variables_the_image_reads():
    with pytest.raises(ValueError, match="NODE_RED_HTTP_AUTH must be a JSON object"):
        contract.environment("worker", extra={"NODE_RED_HTTP_AUTH": "[1, 2]"})
    env = contract.environment("worker", extra={"NODE_RED_HTTP_AUTH": {"default": "none"}})
    assert json.loads(env["NODE_RED_HTTP_AUTH"]) == {"default": "none"}
    # Worker-only variables never reach the editor.
    assert "NODE_RED_HTTP_AUTH" not in contract.environment("editor", extra={"NODE_RED_HTTP_AUTH": {}})
