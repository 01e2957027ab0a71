"""Stack config flows.source (docs/flows-as-code.md) under mocks: what the program registers to deploy a
directory's flows through the stack's editor (components/flows_deployment.py), what it waits for, the
editor's lock, and what it leaves alone. The provider's own logic runs against a real local stack in
tests/e2e/test_flows_source.py.

Guards: `pulumi up` knowing nothing of the flows it will run; a flows change that replaces a container or
a task (a rollout where a deploy is enough); a deploy sent before the editor serves; the deploy token in
plain sight (an input not marked secret, the token itself in an environment); a directory that does not
read back deployed anyway."""

from __future__ import annotations

import hashlib
import json

import pytest

import components.flows_deployment as flows_deployment
from local_stack.flows import marker_flow, whoami_flow
from nodered_status import flowfiles

from . import mock_program
from .aws_helpers import environment, run_example, service, task_definition
from .docker_helpers import by_role, containers, env, router
from .mock_program import is_secret, run_program

DYNAMIC = "pulumi-python:dynamic:Resource"
TOKEN = "a-flows-deploy-token-0123456789abcdefghijklmnop"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project directory holding flows/prod (the layout export writes); the program resolves flows.source here."""
    monkeypatch.setattr(flows_deployment, "PROJECT_DIR", tmp_path)
    monkeypatch.setitem(mock_program.COMPUTED, DYNAMIC, lambda name, inputs: {"flows_revision": 7})
    flowfiles.write(tmp_path / "flows" / "prod", marker_flow("v1") + whoami_flow("v1"), {})
    return tmp_path


def with_source(config: dict) -> dict:
    return {**config, "flows": {"source": "flows/prod"}, "flowsDeployToken": TOKEN}


def deployment(program):
    [found] = program.of_type(DYNAMIC)
    return found


def test_docker_registers_the_deploy_of_the_source_after_the_editor_serves(base_config, project):
    program = run_program(with_source(base_config))
    flows = deployment(program)
    assert flows.name == "flows"
    files = flowfiles.read(project / "flows" / "prod")
    assert flows.inputs["source"] == "flows/prod"
    assert flows.inputs["digest"] == flowfiles.digest(project / "flows" / "prod")
    assert json.loads(flows.inputs["flows"]) == files.body()
    assert flows.inputs["editor_url"] == "http://localhost:8080/"
    assert flows.inputs["deployer"] == "pulumi:test"
    # The token is a secret input; so is the serialized provider (it may hold what it was given).
    assert is_secret(flows.raw_inputs["token"]) and flows.inputs["token"] == TOKEN
    assert is_secret(flows.raw_inputs["__provider"])
    # Sent once the router serves, after the editor and every worker are healthy.
    [editor] = by_role(program, "editor")
    for other in (router(program), editor, *by_role(program, "worker")):
        assert program.waits_for(flows, other), other.name
    assert program.output("flowsRevision") == 7


def test_the_editor_gets_the_lock_and_the_tokens_hash_never_the_token(base_config, project):
    program = run_program(with_source(base_config))
    [editor] = by_role(program, "editor")
    lock = {k: v for k, v in env(editor).items() if k.startswith("NODE_RED_FLOWS_")}
    assert lock == {
        "NODE_RED_FLOWS_SOURCE": "flows/prod",
        "NODE_RED_FLOWS_DEPLOYER": "pulumi:test",
        "NODE_RED_FLOWS_DEPLOY_TOKEN_HASH": hashlib.sha256(TOKEN.encode()).hexdigest(),
    }
    for c in containers(program):
        assert TOKEN not in json.dumps(c.inputs), c.name
    for w in by_role(program, "worker"):
        assert not [k for k in env(w) if k.startswith("NODE_RED_FLOWS_")]


def test_a_change_of_the_flows_changes_no_container_only_the_deploy(base_config, project):
    before = run_program(with_source(base_config))
    flowfiles.write(project / "flows" / "prod", marker_flow("v2") + whoami_flow("v2"), {})
    after = run_program(with_source(base_config))
    inputs = {(r.type, r.name): r.inputs for r in before.resources if r.type != DYNAMIC}
    assert inputs == {(r.type, r.name): r.inputs for r in after.resources if r.type != DYNAMIC}
    assert deployment(before).inputs["digest"] != deployment(after).inputs["digest"]
    assert deployment(before).inputs["flows"] != deployment(after).inputs["flows"]


def test_unset_nothing_changes(base_config, project):
    program = run_program(base_config)
    assert not program.of_type(DYNAMIC)
    assert "flowsRevision" not in program.outputs
    for c in by_role(program, "editor"):
        assert not [k for k in env(c) if k.startswith("NODE_RED_FLOWS_")]


def test_aws_deploys_through_the_load_balancer_once_both_services_are_steady(project):
    program = run_example(flows={"source": "flows/prod"}, flowsDeployToken=TOKEN)
    flows = deployment(program)
    assert flows.inputs["editor_url"] == program.output("editorUrl")
    for role in ("editor", "worker"):
        assert program.waits_for(flows, service(program, role)), role
    assert environment(task_definition(program, "editor"))["NODE_RED_FLOWS_SOURCE"] == "flows/prod"
    assert "NODE_RED_FLOWS_SOURCE" not in environment(task_definition(program, "worker"))


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda d: (d / "index.json").unlink(), "nodered-scale:flows.source: flows/prod: index.json: missing"),
        (
            lambda d: (d / "tabs" / "marker-marker--tab-marker.json").write_text("[{"),
            "nodered-scale:flows.source: flows/prod: tabs/marker-marker--tab-marker.json: not JSON",
        ),
        (
            lambda d: (d / "tabs" / "whoami--tab-whoami.json").write_text(
                json.dumps(
                    [{"id": "tab-whoami", "type": "tab"}, {"id": "whoami-in", "type": "debug", "z": "tab-marker"}]
                )
            ),
            'tabs/whoami--tab-whoami.json: node "whoami-in" is not on tab "tab-whoami"',
        ),
    ],
)
def test_files_that_do_not_read_back_stop_the_program_naming_key_file_and_node(base_config, project, break_it, message):
    break_it(project / "flows" / "prod")
    with pytest.raises(Exception) as raised:
        run_program(with_source(base_config))
    assert message in str(raised.value)


def test_a_source_that_is_no_directory_of_the_project_is_refused(base_config, project):
    with pytest.raises(Exception, match="nodered-scale:flows.source: flows/nowhere: .* no such directory"):
        run_program({**base_config, "flows": {"source": "flows/nowhere"}, "flowsDeployToken": TOKEN})
    with pytest.raises(Exception, match="nodered-scale:flows.source: must be a directory inside the project"):
        run_program({**base_config, "flows": {"source": "../elsewhere"}, "flowsDeployToken": TOKEN})


def test_the_source_needs_its_deploy_token(base_config, project):
    with pytest.raises(Exception, match="nodered-scale:flowsDeployToken: required with flows.source"):
        run_program({**base_config, "flows": {"source": "flows/prod"}})
    with pytest.raises(Exception) as raised:
        run_program({**with_source(base_config), "flowsDeployToken": "short-token-do-not-echo"})
    assert "at least 32 characters" in str(raised.value) and "short-token-do-not-echo" not in str(raised.value)
