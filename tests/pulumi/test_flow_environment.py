"""What flows see on every instance, from stack config: the context stores (context.default), which tabs
the editor runs (flows.editor), and the flows' own variables (flows.env plain, flowSecrets secret).

Guards: users editing settings.js for TZ, API keys and endpoints because the stack had no way to give
flows variables; a flow secret showing in plain environment, in a task definition or in the state
unencrypted; a variable name that overrides what the image itself reads (NODE_RED_*, MONGO_URL, PORT)."""

import json

import pytest

from .aws_helpers import (
    SECRET,
    SECRET_VERSION,
    container,
    environment,
    execution_policy,
    run_example,
    secret_refs,
    secret_values,
    task_definition,
)
from .docker_helpers import by_role, env
from .mock_program import cached_program, is_secret, run_program

FLOWS = {"editor": "all", "env": {"TZ": "Europe/Berlin", "API_URL": "https://api.example.com/v2", "RETRIES": 3}}
SECRETS = {"API_KEY": "flow-api-key-0123456789", "WEBHOOK_TOKEN": "flow-webhook-token-abcdef"}
FLOW_SECRETS_URN = (
    "urn:pulumi:test::nodered-scale::nodered-scale:aws:AwsStack$nodered-scale:aws:FlowSecrets"
    "$aws:secretsmanager/secret:Secret::nodered-flow-secrets-secret"
)


def test_docker_every_instance_gets_the_flow_variables_and_the_context_default(base_config):
    program = cached_program({**base_config, "context": {"default": "shared"}, "flows": FLOWS, "flowSecrets": SECRETS})
    instances = by_role(program, "editor") + by_role(program, "worker")
    assert len(instances) == 3
    for c in instances:
        e = env(c)
        assert {k: e[k] for k in ("TZ", "API_URL", "RETRIES")} == {
            "TZ": "Europe/Berlin",
            "API_URL": "https://api.example.com/v2",
            "RETRIES": "3",
        }
        assert {k: e[k] for k in SECRETS} == SECRETS
        assert e["NODE_RED_CONTEXT_DEFAULT"] == "shared"
        # The container's environment holds secrets: it is a secret as a whole in the state.
        assert is_secret(c.raw_inputs["envs"])
    [editor] = by_role(program, "editor")
    assert env(editor)["NODE_RED_EDITOR_FLOWS"] == "all"
    assert all("NODE_RED_EDITOR_FLOWS" not in env(w) for w in by_role(program, "worker"))


def test_docker_defaults_memory_context_and_an_editor_without_run_once_tabs(base_config):
    program = cached_program(base_config)
    for c in by_role(program, "editor") + by_role(program, "worker"):
        assert env(c)["NODE_RED_CONTEXT_DEFAULT"] == "memory"
    [editor] = by_role(program, "editor")
    assert env(editor)["NODE_RED_EDITOR_FLOWS"] == "ordinary"


def test_aws_flow_secrets_live_in_secrets_manager_and_reach_both_roles_as_ecs_secrets():
    program = run_example(context={"default": "shared"}, flows=FLOWS, flowSecrets=SECRETS)
    [flow_secret] = [s for s in program.of_type(SECRET) if s.engine_urn == FLOW_SECRETS_URN]
    stored = secret_values(program)
    flow_arn = next(a for a in stored if a.endswith(flow_secret.name))
    assert json.loads(stored[flow_arn]) == SECRETS
    [version] = [v for v in program.of_type(SECRET_VERSION) if v.name.startswith(flow_secret.name.rsplit("-", 1)[0])]
    assert is_secret(version.raw_inputs["secretString"])
    for role in ("editor", "worker"):
        task = task_definition(program, role)
        plain = environment(task)
        assert plain["TZ"] == "Europe/Berlin" and plain["RETRIES"] == "3"
        assert plain["NODE_RED_CONTEXT_DEFAULT"] == "shared"
        assert not set(SECRETS) & set(plain)
        refs = secret_refs(task)
        for name in SECRETS:
            # <secret arn>:<json key>::<version>: the value of that key in this version of the secret.
            arn, key, stage, version_id = refs[name].rsplit(":", 3)
            assert (arn, key, stage) == (flow_arn, name, "") and len(version_id) == 32
        blob = json.dumps(container(task))
        assert not any(value in blob for value in SECRETS.values())
        # The role's execution role may read the flow secret (and, for workers, still not the editor password).
        [statement] = execution_policy(program, task, "secrets")["Statement"]
        assert flow_arn in statement["Resource"]
        assert len(statement["Resource"]) == len(set(statement["Resource"]))
        # The editor also reads the admin login its db-setup container uses (MONGO_ADMIN_URL).
        assert len(statement["Resource"]) == (5 if role == "editor" else 3)
    assert environment(task_definition(program, "editor"))["NODE_RED_EDITOR_FLOWS"] == "all"


def test_aws_no_flow_secrets_no_extra_secret():
    program = run_example()
    assert len(program.of_type(SECRET)) == 4  # MONGO_URL, MONGO_ADMIN_URL, credential secret, editor password
    assert all("FlowSecrets" not in r.engine_urn for r in program.resources)


def test_aws_a_changed_flow_secret_rolls_both_services():
    before = run_example(flowSecrets=SECRETS)
    after = run_example(flowSecrets={**SECRETS, "API_KEY": "a-rotated-api-key"})
    for role in ("editor", "worker"):
        assert container(task_definition(after, role)) != container(task_definition(before, role))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"context": {"default": "redis"}}, "nodered-scale:context.default: Input should be 'memory' or 'shared'"),
        ({"flows": {"editor": "leader"}}, "nodered-scale:flows.editor: Input should be 'ordinary', 'all' or 'none'"),
        ({"flows": {"env": {"NODE_OPTIONS": "--inspect"}}}, "nodered-scale:flows.env.NODE_OPTIONS: "),
        ({"flows": {"env": {"MONGO_URL": "mongodb://elsewhere"}}}, "nodered-scale:flows.env.MONGO_URL: "),
        ({"flows": {"env": {"PORT": "80"}}}, "nodered-scale:flows.env.PORT: "),
        ({"flows": {"env": {"CLUSTER_RUN_ON": "leader"}}}, "nodered-scale:flows.env.CLUSTER_RUN_ON: "),
        ({"flows": {"env": {"9LIVES": "x"}}}, "nodered-scale:flows.env.9LIVES: "),
        ({"flows": {"env": {"A": ["x"]}}}, "nodered-scale:flows.env.A: Input should be a valid string"),
        ({"flowSecrets": {"node_red_x": "v"}}, "nodered-scale:flowSecrets.node_red_x: "),
        ({"flowSecrets": {"API_KEY": ""}}, "nodered-scale:flowSecrets.API_KEY: must not be empty"),
        (
            {"flows": {"env": {"API_KEY": "plain"}}, "flowSecrets": {"API_KEY": "secret"}},
            "nodered-scale:flowSecrets: API_KEY also in flows.env",
        ),
        ({"flowSecrets": "API_KEY=abc"}, "nodered-scale:flowSecrets: must be an object"),
    ],
)
def test_bad_flow_config_names_the_key(base_config, config, message):
    with pytest.raises(Exception) as raised:
        run_program({**base_config, **config})
    assert message in str(raised.value)


def test_a_bad_flow_secret_is_never_echoed(base_config):
    with pytest.raises(Exception) as raised:
        run_program({**base_config, "flowSecrets": {"API_KEY": ["do-not-print-me"], "MONGO_URL": "nor-me"}})
    assert "flowSecrets.API_KEY" in str(raised.value) and "flowSecrets.MONGO_URL" in str(raised.value)
    assert "do-not-print-me" not in str(raised.value) and "nor-me" not in str(raised.value)
