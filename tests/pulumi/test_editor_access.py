"""Editor access in the stack config and what the program asks for (docs/editor-access.md): users, single
sign-on and API tokens reach the editor only (their secrets as secrets: Secrets Manager on aws); bad input
stops the program naming the key before anything is created; on aws, plain HTTP only when asked for and
the editor's own CIDRs as load balancer rules.

Guards: one shared login; secrets of the editor's logins reaching workers or the plain environment; an aws
stack serving the editor's password and session tokens over plain HTTP to the internet by default."""

import json

import pulumi
import pytest

from . import mock_program
from .aws_helpers import (
    LISTENER,
    LISTENER_RULE,
    PLAIN_HTTP,
    USER_SECRETS,
    arn,
    environment,
    example_config,
    ingress_sources,
    listener_rule,
    merged,
    run_example,
    secret_refs,
    secret_values,
    security_group,
    target_group,
    task_definition,
)
from .docker_helpers import DOCKER_KEPT_SECRETS, by_role, env
from .mock_program import cached_program, run_program

TOKEN = "0123456789abcdef0123456789abcdef"
OIDC = {
    "issuer": "https://sso.example.com/realms/ops",
    "clientId": "nodered",
    "groupsClaim": "groups",
    "adminGroups": ["nodered-admins"],
    "readGroups": ["nodered-support"],
}
TEAM = {
    "editor": {
        "users": [{"name": "ann", "role": "read"}, {"name": "bob", "role": "admin"}],
        "apiTokens": [{"name": "ci", "role": "admin"}],
        "oidc": OIDC,
        "sessionHours": 8,
    },
    "editorPasswords": {"ann": "ann-password", "bob": "bob-password"},
    "editorApiTokens": {"ci": TOKEN},
    "editorOidcClientSecret": "client-secret-at-the-provider",
}
DOCKER = {**DOCKER_KEPT_SECRETS, **TEAM}
EDITOR_SECRETS = {
    "NODE_RED_EDITOR_PASSWORDS",
    "NODE_RED_EDITOR_API_TOKEN_SECRETS",
    "NODE_RED_EDITOR_OIDC_CLIENT_SECRET",
}
LOGINS = {"NODE_RED_EDITOR_USERS", "NODE_RED_EDITOR_API_TOKENS", "NODE_RED_EDITOR_OIDC", "NODE_RED_EDITOR_URL"}


def test_docker_the_editor_gets_its_users_tokens_and_single_sign_on_and_workers_none_of_it():
    program = cached_program(DOCKER)
    [editor] = by_role(program, "editor")
    e = env(editor)
    assert json.loads(e["NODE_RED_EDITOR_USERS"]) == TEAM["editor"]["users"]
    assert json.loads(e["NODE_RED_EDITOR_API_TOKENS"]) == TEAM["editor"]["apiTokens"]
    oidc = json.loads(e["NODE_RED_EDITOR_OIDC"])
    assert {k: oidc[k] for k in OIDC} == OIDC and oidc["usernameClaim"] == "preferred_username"
    assert e["NODE_RED_EDITOR_URL"] == "http://localhost:8080/"
    assert (e["NODE_RED_SESSION_HOURS"], e["NODE_RED_AUDIT_RETENTION_DAYS"]) == ("8", "90")
    assert json.loads(e["NODE_RED_EDITOR_PASSWORDS"]) == TEAM["editorPasswords"]
    assert json.loads(e["NODE_RED_EDITOR_API_TOKEN_SECRETS"]) == {"ci": TOKEN}
    assert e["NODE_RED_EDITOR_OIDC_CLIENT_SECRET"] == TEAM["editorOidcClientSecret"]
    assert "NODE_RED_EDITOR_PASSWORD" not in e, "no editorPassword: no shorthand admin"
    for worker in by_role(program, "worker"):
        assert not set(env(worker)) & (EDITOR_SECRETS | LOGINS | {"NODE_RED_SESSION_HOURS"})


def test_aws_the_editors_login_secrets_are_in_secrets_manager_for_the_editor_only():
    program = run_example(**TEAM)
    editor, worker = task_definition(program, "editor"), task_definition(program, "worker")
    assert EDITOR_SECRETS <= set(secret_refs(editor))
    assert not EDITOR_SECRETS & set(secret_refs(worker))
    assert not EDITOR_SECRETS & set(environment(editor)), "never plain"
    assert environment(editor)["NODE_RED_EDITOR_URL"] == "https://nodered.example.com/"
    assert not LOGINS & set(environment(worker))
    stored = secret_values(program)
    arns = {ref.split(":::")[0]: name for name, ref in secret_refs(editor).items()}
    tokens = next(v for a, v in stored.items() if arns.get(a) == "NODE_RED_EDITOR_API_TOKEN_SECRETS")
    assert json.loads(tokens) == {"ci": TOKEN}


BAD = [
    ({"editor": {"users": [{"name": "ann", "role": "owner"}]}}, "editor.users.0.role", "'admin' or 'read'"),
    ({"editor": {"users": [{"name": "ann", "role": "read"}]}}, "editorPasswords", "no password for editor user ann"),
    (
        {"editor": {"users": [{"name": "ann", "role": "read"}] * 2}, "editorPasswords": {"ann": "ann-password"}},
        "editor.users",
        "ann is listed twice",
    ),
    (
        {"editor": {"users": [{"name": "admin", "role": "read"}]}, "editorPasswords": {"admin": "ann-password"}},
        "editor.users",
        "admin is also editor.user",
    ),
    (
        {"editor": {"users": [{"name": "ann", "role": "read"}]}, "editorPasswords": {"ann": "short"}},
        "editorPasswords.ann",
        "at least 8 characters",
    ),
    ({"editorPasswords": {"zed": "zed-password"}}, "editorPasswords.zed", "not listed in editor.users"),
    (
        {"editor": {"oidc": {**OIDC, "issuer": "http://sso.example.com"}}, "editorOidcClientSecret": "s"},
        "editor.oidc.issuer",
        "must be https",
    ),
    (
        {"editor": {"oidc": {k: v for k, v in OIDC.items() if k != "groupsClaim"}}, "editorOidcClientSecret": "s"},
        "editor.oidc.groupsClaim",
        "is required with adminGroups or readGroups",
    ),
    (
        {"editor": {"oidc": {**OIDC, "adminGroups": [], "readGroups": []}}, "editorOidcClientSecret": "s"},
        "editor.oidc.readGroups",
        "nobody could log in",
    ),
    ({"editor": {"oidc": OIDC}}, "editorOidcClientSecret", "is required with editor.oidc"),
    (
        {"editor": {"apiTokens": [{"name": "ci", "role": "admin"}]}, "editorApiTokens": {"ci": "too-short"}},
        "editorApiTokens.ci",
        "at least 32 characters",
    ),
    ({"editor": {"apiTokens": [{"name": "ci", "role": "admin"}]}}, "editorApiTokens", "no token for API token ci"),
    ({"editor": {"sessionHours": 0}}, "editor.sessionHours", "greater than or equal to 1"),
]


@pytest.mark.parametrize("override,key,reason", BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_logins_stop_the_program_naming_the_key_before_anything_is_created(override, key, reason):
    config = merged({**DOCKER_KEPT_SECRETS, "editorPassword": "correct-horse-battery"}, override)
    with pytest.raises(pulumi.RunError) as raised:
        run_program(config)
    message = str(raised.value)
    assert f"nodered-scale:{key}:" in message and reason in message, message
    assert "ann-password" not in message and TOKEN not in message, "no secret in the message"
    assert set(t for t, _ in mock_program.last_registered) <= {"pulumi:pulumi:Stack"}


def test_editor_password_is_required_only_without_users_or_single_sign_on():
    with pytest.raises(pulumi.RunError, match=r"nodered-scale:editorPassword: is required .*unless editor.users"):
        run_program(dict(DOCKER_KEPT_SECRETS))
    users_only = {**DOCKER_KEPT_SECRETS, "editor": {"users": [{"name": "ann", "role": "admin"}]}}
    program = run_program({**users_only, "editorPasswords": {"ann": "ann-password"}})
    assert "NODE_RED_EDITOR_PASSWORD" not in env(by_role(program, "editor")[0])
    oidc_only = {**DOCKER_KEPT_SECRETS, "editor": {"oidc": {**OIDC, "issuer": "http://127.0.0.1:9000/realms/dev"}}}
    assert run_program({**oidc_only, "editorOidcClientSecret": "s"}).output("editorUrl")


def test_aws_refuses_plain_http_unless_asked_for_and_says_how_to_get_a_certificate():
    config = merged(example_config(), {"aws": {"certificateArn": None, "domainName": None}})
    with pytest.raises(pulumi.RunError) as raised:
        run_program(config)
    message = str(raised.value)
    assert "nodered-scale:aws.certificateArn: is required" in message
    assert (
        "plain HTTP" in message and "aws acm request-certificate" in message and "aws.allowPlainHttp: true" in message
    )
    assert set(t for t, _ in mock_program.last_registered) <= {"pulumi:pulumi:Stack"}
    with pytest.raises(pulumi.RunError, match="nodered-scale:aws.certificateArn: is required"):
        run_program({"target": "aws", **USER_SECRETS})
    plain = run_example(aws=PLAIN_HTTP)
    assert [lst.inputs["port"] for lst in plain.of_type(LISTENER)] == [80]
    with pytest.raises(pulumi.RunError, match="nodered-scale:aws.certificateArn: aws.allowPlainHttp is true too"):
        run_program(merged(example_config(), {"aws": {"allowPlainHttp": True}}))


def test_aws_single_sign_on_needs_the_domain_name():
    config = merged(example_config(), {**TEAM, "aws": PLAIN_HTTP})
    with pytest.raises(pulumi.RunError, match="nodered-scale:editor.oidc: on the aws target it needs aws.domainName"):
        run_program(config)


OFFICES = [f"203.0.113.{i}/32" for i in range(7)]


def test_aws_editor_cidrs_reach_the_editor_and_everyone_else_gets_403_while_flows_follow_allowed_cidrs():
    program = run_example(aws={"editorAllowedCidrs": OFFICES})
    https = next(lst for lst in program.of_type(LISTENER) if lst.inputs["port"] == 443)
    [default] = https.inputs["defaultActions"]
    assert default["type"] == "fixed-response" and default["fixedResponse"]["statusCode"] == "403"
    assert "editorAllowedCidrs" in json.loads(default["fixedResponse"]["messageBody"])["error"]
    rules = sorted(
        (r for r in program.of_type(LISTENER_RULE) if "-editor-" in r.name), key=lambda r: r.inputs["priority"]
    )
    # An ALB condition takes 5 values: 7 addresses are two rules, each forwarding to the editor.
    assert [r.inputs["conditions"][0]["sourceIp"]["values"] for r in rules] == [OFFICES[:5], OFFICES[5:]]
    for rule in rules:
        assert rule.inputs["listenerArn"] == arn(https)
        [action] = rule.inputs["actions"]
        assert (action["type"], action["targetGroupArn"]) == ("forward", arn(target_group(program, "editor")))
    workers = listener_rule(program, "workers")
    assert workers.inputs["priority"] < rules[0].inputs["priority"], "flow endpoints are matched first"
    assert "sourceIp" not in workers.inputs["conditions"][0]
    assert ingress_sources(program, security_group(program, "alb")) == [(80, "0.0.0.0/0"), (443, "0.0.0.0/0")]
    # Without the key: no rule, the editor is the default.
    assert not [r for r in run_example().of_type(LISTENER_RULE) if "-editor-" in r.name]


def test_aws_editor_cidrs_must_lie_inside_allowed_cidrs():
    config = merged(example_config(), {"aws": {"allowedCidrs": ["10.0.0.0/8"], "editorAllowedCidrs": ["192.0.2.0/24"]}})
    with pytest.raises(pulumi.RunError, match=r"nodered-scale:aws.editorAllowedCidrs: 192.0.2.0/24 is outside"):
        run_program(config)
