"""The flows' endpoints as an API, from stack config to the instances (docs/api.md): `http.auth`, `http.cors`,
`http.rateLimit`, `http.openapi`, the secrets `httpUsers` / `httpTokens`, and `image.functionModules`.

Guards: the aws target, where no nginx runs, leaving the endpoints without the auth rules or the rate limit
the docker target applies; a user's password or a client's token reaching a container as plain
environment, a task definition, or the editor (which serves no flow endpoint); a bad rule, name, origin or
rate deploying anyway."""

import json

import pytest

from .aws_helpers import ROLE_POLICY, SECRET, environment, run_example, secret_refs, secret_values, task_definition
from .docker_helpers import by_role, env, router_config
from .mock_program import cached_program, is_secret, run_program

HTTP = {
    "auth": {
        "default": "none",
        "rules": [
            {"path": "/orders/*", "type": "bearer"},
            {"path": "/admin/**", "type": "basic", "names": ["carol"]},
        ],
    },
    "cors": {"origins": ["https://app.example.com"], "credentials": True},
    "rateLimit": {"perSecond": 20, "burst": 40},
    "openapi": True,
}
USERS = {"carol": "carol-password-1"}
TOKENS = {"orders-client": "orders-token-0123456789abcdef"}
WORKER_PLAIN = {
    "NODE_RED_HTTP_AUTH": HTTP["auth"],
    "NODE_RED_HTTP_CORS": HTTP["cors"],
    "NODE_RED_HTTP_OPENAPI": "true",
}


def decoded(plain: dict[str, str]) -> dict:
    return {
        k: json.loads(v) if v.startswith("{") else v
        for k, v in plain.items()
        if k.startswith("NODE_RED_HTTP_") and k != "NODE_RED_HTTP_NODE_ROOT"
    }


def test_docker_workers_get_the_rules_and_their_secrets_nginx_the_rate_limit(base_config):
    program = cached_program({**base_config, "http": HTTP, "httpUsers": USERS, "httpTokens": TOKENS})
    for worker in by_role(program, "worker"):
        e = env(worker)
        assert decoded(e) == {
            **WORKER_PLAIN,
            "NODE_RED_HTTP_USERS": USERS,
            "NODE_RED_HTTP_TOKENS": TOKENS,
        }
        assert is_secret(worker.raw_inputs["envs"])
    # The editor serves no flow endpoint: it only learns that the document's path is taken.
    [editor] = by_role(program, "editor")
    assert decoded(env(editor)) == {"NODE_RED_HTTP_OPENAPI": "true"}
    # nginx limits each client address on <httpNodeRoot>, so the instances do not count again.
    config = router_config(program)
    assert "limit_req_zone $binary_remote_addr zone=router_api:10m rate=20r/s;" in config
    flows_location = config.split("location ~* ^/red-nodes(?:/|$) {", 1)[1].split("}", 1)[0]
    assert "limit_req zone=router_api burst=40 nodelay;" in flows_location


def test_docker_without_http_config_nothing_changes(base_config):
    program = cached_program(base_config)
    for instance in by_role(program, "worker") + by_role(program, "editor"):
        assert decoded(env(instance)) == {"NODE_RED_HTTP_OPENAPI": "false"}
    assert "router_api" not in router_config(program)


def secrets_readable(program, task) -> set[str]:
    """The Secrets Manager secrets the task's execution role may read, from all of its inline policies."""
    role = task.inputs["executionRoleArn"].rsplit(":", 1)[1]
    readable: set[str] = set()
    for policy in program.of_type(ROLE_POLICY):
        if policy.inputs["role"] != role:
            continue
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if "secretsmanager:GetSecretValue" in actions:
                resources = statement["Resource"]
                readable |= set(resources if isinstance(resources, list) else [resources])
    return readable


def test_aws_workers_get_the_same_settings_and_the_rate_limit_per_instance():
    program = run_example(http=HTTP, httpUsers=USERS, httpTokens=TOKENS)
    worker = task_definition(program, "worker")
    plain = environment(worker)
    # The same rules and CORS as on docker; the rate limit too, since no nginx is in front of the instances.
    assert decoded(plain) == {**WORKER_PLAIN, "NODE_RED_HTTP_RATE_LIMIT": {"perSecond": 20, "burst": 40}}
    # Users and tokens from Secrets Manager, never in the task definition's plain text.
    refs = secret_refs(worker)
    stored = secret_values(program)
    for name, value in (("NODE_RED_HTTP_USERS", USERS), ("NODE_RED_HTTP_TOKENS", TOKENS)):
        arn = refs[name].split(":::", 1)[0]
        assert json.loads(stored[arn]) == value
        for secret in value.values():
            assert secret not in json.dumps(worker.inputs["containerDefinitions"])
    assert {refs["NODE_RED_HTTP_USERS"].split(":::")[0], refs["NODE_RED_HTTP_TOKENS"].split(":::")[0]} <= (
        secrets_readable(program, worker)
    )
    # The editor neither gets them nor may read them.
    editor = task_definition(program, "editor")
    assert decoded(environment(editor)) == {"NODE_RED_HTTP_OPENAPI": "true"}
    assert not {"NODE_RED_HTTP_USERS", "NODE_RED_HTTP_TOKENS"} & set(secret_refs(editor))
    assert refs["NODE_RED_HTTP_USERS"].split(":::")[0] not in secrets_readable(program, editor)


HTTP_SECRET_URNS = {
    "urn:pulumi:test::nodered-scale::nodered-scale:aws:AwsStack$nodered-scale:aws:RuntimeSecrets"
    "$aws:secretsmanager/secret:Secret::nodered-runtime-node-red-http-users",
    "urn:pulumi:test::nodered-scale::nodered-scale:aws:AwsStack$nodered-scale:aws:RuntimeSecrets"
    "$aws:secretsmanager/secret:Secret::nodered-runtime-node-red-http-tokens",
}


def test_aws_users_and_tokens_are_one_secret_each_under_fixed_urns():
    """Written down once: a renamed secret would be a new one, deleted and created on the next `up`."""
    program = run_example(http=HTTP, httpUsers=USERS, httpTokens=TOKENS)
    found = {r.engine_urn for r in program.of_type(SECRET) if r.engine_urn.endswith(("-http-users", "-http-tokens"))}
    assert found == HTTP_SECRET_URNS
    assert not {r.engine_urn for r in run_example().resources} & HTTP_SECRET_URNS


def test_aws_a_rotated_token_rolls_the_workers():
    before = task_definition(run_example(http=HTTP, httpUsers=USERS, httpTokens=TOKENS), "worker")
    rotated = {"orders-client": "orders-token-rotated-0123456789"}
    after = task_definition(run_example(http=HTTP, httpUsers=USERS, httpTokens=rotated), "worker")
    assert secret_refs(after)["NODE_RED_HTTP_TOKENS"] != secret_refs(before)["NODE_RED_HTTP_TOKENS"]


BAD = [
    ({"http": {"auth": {"rules": [{"path": "orders/*", "type": "basic"}]}}}, "http.auth.rules.0.path: must be"),
    ({"http": {"auth": {"rules": [{"path": "/orders*", "type": "basic"}]}}}, "http.auth.rules.0.path: must be"),
    ({"http": {"auth": {"rules": [{"path": "/a/../b", "type": "none"}]}}}, "http.auth.rules.0.path: must be"),
    ({"http": {"auth": {"rules": [{"path": "/a%2Fb", "type": "none"}]}}}, "http.auth.rules.0.path: must be"),
    ({"http": {"auth": {"rules": [{"path": "/a/", "type": "none"}]}}}, "http.auth.rules.0.path: must be"),
    ({"http": {"auth": {"rules": [{"path": "/a", "type": "oauth"}]}}}, "http.auth.rules.0.type: Input should be"),
    ({"http": {"auth": {"default": "digest"}}}, "http.auth.default: Input should be"),
    (
        {"http": {"auth": {"rules": [{"path": "/a", "type": "none"}, {"path": "/a", "type": "basic"}]}}},
        "http.auth.rules: [1].path: '/a' is already a rule",
    ),
    (
        {"http": {"auth": {"rules": [{"path": "/a", "type": "basic", "names": ["dave"]}]}}, "httpUsers": USERS},
        "http.auth.rules[0].names: 'dave' is not in httpUsers",
    ),
    (
        {"http": {"auth": {"rules": [{"path": "/a", "type": "bearer", "names": ["carol"]}]}}, "httpUsers": USERS},
        "http.auth.rules[0].names: 'carol' is not in httpTokens",
    ),
    (
        {"http": {"auth": {"rules": [{"path": "/a", "type": "basic", "names": ["carol", "carol"]}]}}},
        "http.auth.rules.0.names: 'carol' listed twice",
    ),
    ({"http": {"auth": {"default": "bearer"}}}, "httpTokens: http.auth uses type bearer, but httpTokens has nobody"),
    ({"httpUsers": USERS, "httpTokens": {"carol": TOKENS["orders-client"]}}, "httpTokens: carol also in httpUsers"),
    (
        {"httpTokens": {"a": TOKENS["orders-client"], "b": TOKENS["orders-client"]}},
        "httpTokens.b: the same token as another client",
    ),
    ({"httpUsers": {"carol": "short"}}, "httpUsers.carol: the password must have 8"),
    ({"httpUsers": {"bad:name": "long-enough-password"}}, "httpUsers.bad:name: 'bad:name' must be"),
    ({"httpTokens": {"c": "short"}}, "httpTokens.c: the token must be"),
    ({"httpTokens": {"c": "has spaces in the token ok"}}, "httpTokens.c: the token must be"),
    ({"http": {"cors": {"origins": ["app.example.com"]}}}, "http.cors.origins: 'app.example.com' is not an origin"),
    (
        {"http": {"cors": {"origins": ["https://app.example.com/"]}}},
        "http.cors.origins: 'https://app.example.com/' is not",
    ),
    ({"http": {"cors": {"origins": ["ftp://x.example"]}}}, "http.cors.origins: 'ftp://x.example' is not an origin"),
    ({"http": {"cors": {"origins": []}}}, "http.cors.origins: must list at least one origin"),
    ({"http": {"cors": {"origins": ["*"], "credentials": True}}}, "http.cors.credentials: not with"),
    ({"http": {"cors": {"origins": ["*"], "methods": ["TRACE"]}}}, "http.cors.methods.0: Input should be"),
    (
        {"http": {"cors": {"origins": ["*"], "headers": ["X Bad"]}}},
        "http.cors.headers: 'X Bad' must be an HTTP header name",
    ),
    ({"http": {"rateLimit": {"perSecond": 0}}}, "http.rateLimit.perSecond: Input should be greater than or equal to 1"),
    (
        {"http": {"rateLimit": {"perSecond": -5}}},
        "http.rateLimit.perSecond: Input should be greater than or equal to 1",
    ),
    ({"http": {"rateLimit": {"perSecond": 10, "burst": -1}}}, "http.rateLimit.burst: Input should be greater"),
    ({"http": {"rateLimit": {"burst": 10}}}, "http.rateLimit.perSecond: is required"),
    ({"http": {"openapi": "yes"}}, "http.openapi: Input should be a valid boolean"),
    ({"http": {"auth": {"rule": []}}}, "http.auth.rule: unknown key (did you mean rules?)"),
    ({"image": {"functionModules": ["dayjs; rm -rf /"]}}, "image.functionModules.0: String should match pattern"),
]


@pytest.mark.parametrize(("config", "message"), BAD, ids=[m.split(":")[0] for _, m in BAD])
def test_bad_http_config_names_the_key(base_config, config, message):
    with pytest.raises(Exception) as raised:
        run_program({**base_config, **config})
    assert f"nodered-scale:{message}" in str(raised.value)


def test_a_bad_user_password_or_token_is_never_echoed(base_config):
    with pytest.raises(Exception) as raised:
        run_program({**base_config, "httpUsers": {"carol": "tiny-pw"}, "httpTokens": {"c": "tiny token"}})
    assert "httpUsers.carol" in str(raised.value) and "httpTokens.c" in str(raised.value)
    assert "tiny-pw" not in str(raised.value) and "tiny token" not in str(raised.value)
