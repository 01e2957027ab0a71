"""The docker target across its life on a real engine: first `make up`, `make down` then `make up` again,
replacements, stops. Mocks cannot run Docker, so these check what the engine and the Docker provider act
on: the values each run hands the containers, and the resource options and dependency edges registered."""

import pulumi
import pytest

from stack_secrets import KEPT, PulumiCli, ensure

from .docker_helpers import DOCKER_KEPT_SECRETS, by_role, containers, env, router
from .fake_pulumi_cli import FakePulumi
from .mock_program import Program, cached_program, run_program
from .test_project_files import stack_file_config

VOLUME = "docker:index/volume:Volume"


def mongo_members(program: Program):
    return sorted((c for c in containers(program) if "-mongo-" in c.inputs["name"]), key=lambda c: c.inputs["name"])


def secrets_in_use(program: Program) -> dict[str, set[str]]:
    """Each secret as the containers receive it (a set: every container must get the same)."""
    members, nodered = mongo_members(program), by_role(program, "editor") + by_role(program, "worker")
    return {
        "root password": {env(m)["MONGO_INITDB_ROOT_PASSWORD"] for m in members},
        "app password": {env(m)["MONGO_APP_PASSWORD"] for m in members},
        "key file": {env(m)["MONGO_KEYFILE_CONTENT"] for m in members},
        "MONGO_URL": {env(c)["MONGO_URL"] for c in nodered},
        "credential secret": {env(c)["NODE_RED_CREDENTIAL_SECRET"] for c in nodered},
    }


def make_up(cli: FakePulumi, state: dict) -> Program:
    """`make up`: scripts/pulumi-stack.sh (editor password given once, kept secrets ensured), then `pulumi up`
    of the dev stack file with the stack config as it stands, from `state`."""
    ensure(PulumiCli("pulumi", cli.stack, run=cli))
    config = {**stack_file_config("Pulumi.dev.yaml"), **cli.config, "mongo": {"members": 3}}
    return run_program(config, stack=cli.stack, state=state)


def test_make_down_then_make_up_gives_mongodb_and_node_red_the_same_secrets():
    """Guards: `make down` kept the MongoDB volumes but forgot the random root and app passwords, key file and
    credential secret; the next `make up` generated new ones, which the stored users and key file did not
    match (member 0 never healthy, `pulumi up` failing after 180 s, Node-RED locked out) and which could
    not decrypt the stored flow credentials."""
    cli = FakePulumi("dev", {"editorPassword": "correct-horse-battery"})
    first = make_up(cli, state={})
    generated = {k.key for k in KEPT}
    assert generated <= cli.secret_keys, "make up keeps them in the stack config, encrypted"
    before = secrets_in_use(first)
    assert all(len(values) == 1 for values in before.values()), before

    # `make down`: pulumi destroy. Retained volumes stay on the host but leave the state; so does everything else.
    # Member 0's data volume is retained (the others hold copies, made again from it: test_stateful_urns.py).
    volumes = [v for v in first.of_type(VOLUME) if "-mongo-data-" in v.name]
    assert volumes and [v.retain_on_delete for v in volumes] == [v.name.endswith("-data-0") for v in volumes]
    cli.destroy()
    config_after_down = dict(cli.config)

    second = make_up(cli, state={})
    assert cli.config == config_after_down, "the second make up generates nothing"
    assert secrets_in_use(second) == before
    # The same volumes by name: the second run's members open the data the first run's wrote.
    data = sorted(v.inputs["name"] for v in second.of_type(VOLUME) if "-mongo-data-" in v.name)
    assert data == sorted(v.inputs["name"] for v in volumes)


def test_a_stack_deployed_with_generated_secrets_keeps_their_values_when_they_move_to_the_config():
    """A stack whose state holds the secrets as random resources (deployed before they moved to the stack
    config): `make up` takes their values from the state, so its volumes' users and its stored credentials
    still match."""
    cli = FakePulumi("dev", {"editorPassword": "correct-horse-battery"})
    cli.randoms = {
        "nodered-secrets-credential-secret": "credential-from-state-0123456789",
        "nodered-mongo-root-password": "root-from-state-0123456789",
        "nodered-mongo-app-password": "app-from-state-0123456789",
        "nodered-mongo-keyfile": "a2V5ZmlsZWZyb21zdGF0ZQ",
    }
    in_use = secrets_in_use(make_up(cli, state={}))
    assert in_use["credential secret"] == {"credential-from-state-0123456789"}
    assert in_use["root password"] == {"root-from-state-0123456789"}
    assert in_use["app password"] == {"app-from-state-0123456789"}
    assert in_use["key file"] == {"a2V5ZmlsZWZyb21zdGF0ZQ"}


def test_an_aws_stack_keeps_its_credential_key_in_the_stack_config_and_no_docker_secret():
    """Guards: the aws target's credential key generated into the Pulumi state, which `pulumi destroy` forgets
    while the final DocumentDB snapshot keeps the credentials it encrypted."""
    cli = FakePulumi("prod", {"target": "aws", "editorPassword": "correct-horse-battery"})
    assert ensure(PulumiCli("pulumi", "prod", run=cli)) == {"credentialSecret": "generated"}
    assert set(cli.config) == {"target", "editorPassword", "credentialSecret"}
    assert cli.secret_keys == {"credentialSecret"}
    cli.destroy()
    assert ensure(PulumiCli("pulumi", "prod", run=cli)) == {}, "kept across destroy: nothing generated again"


def test_an_aws_stack_whose_state_holds_its_key_keeps_that_key_and_unprotects_the_old_resource():
    """An aws stack deployed while the key was a protected random resource: `make up` copies its value into the
    stack config and unprotects the resource, which the program no longer declares (protected, it would stop
    the next `up` from dropping it from the state)."""
    cli = FakePulumi("prod", {"target": "aws", "editorPassword": "correct-horse-battery"})
    cli.randoms = {"nodered-secrets-credential-secret": "key-from-the-state-0123456789"}
    cli.protected = {"nodered-secrets-credential-secret"}
    assert ensure(PulumiCli("pulumi", "prod", run=cli)) == {"credentialSecret": "state"}
    assert cli.config["credentialSecret"] == "key-from-the-state-0123456789"
    assert cli.protected == set()


def test_a_docker_stack_without_its_kept_secrets_is_refused_naming_each_key_and_the_fix():
    """`pulumi up` without `make up` on a docker stack: the program must not generate throwaway secrets that
    the next `destroy` forgets while the data volumes stay."""
    with pytest.raises(pulumi.RunError) as raised:
        run_program({"editorPassword": "correct-horse-battery"})
    message = str(raised.value)
    for key in DOCKER_KEPT_SECRETS:
        assert f"nodered-scale:{key}: is required on the docker target" in message
    assert "make up" in message and "python -m stack_secrets" in message


def test_every_container_stops_gracefully_on_replace_and_destroy(base_config):
    """Guards: the Docker provider stops a container with timeout 0 (SIGKILL) on a Pulumi replace or destroy
    unless destroy_grace_seconds is set: no request drain for Node-RED, an unclean mongod shutdown."""
    program = cached_program({**base_config, "mongo": {"members": 3}})
    for container in containers(program):
        inputs = container.inputs
        assert inputs.get("destroyGraceSeconds", 0) >= inputs.get("stopTimeout", 0) > 0, container.name
    for container in by_role(program, "editor") + by_role(program, "worker"):
        # The launcher force-exits 15 s after SIGTERM, requests drained.
        assert container.inputs["destroyGraceSeconds"] > 15
    for member in mongo_members(program):
        assert member.inputs["destroyGraceSeconds"] >= 30


def test_every_container_names_the_log_driver_its_log_options_are_for(base_config):
    """Guards: max-size/max-file without a driver are refused by a daemon whose default is journald
    (Fedora/RHEL moby-engine): no container would start."""
    for container in containers(cached_program(base_config)):
        assert container.inputs["logOpts"] == {"max-size": "10m", "max-file": "3"}
        assert container.inputs["logDriver"] == "json-file", container.name


@pytest.mark.parametrize(
    "bind,host",
    [(None, "localhost"), ("0.0.0.0", "localhost"), ("192.168.1.20", "192.168.1.20")],
)
def test_the_router_publishes_on_loopback_unless_told_otherwise(base_config, bind, host):
    """Guards: the router published on 0.0.0.0, putting the editor on the LAN, while the README spoke of
    localhost only."""
    router_config = {"port": 8088, **({"bindAddress": bind} if bind else {})}
    program = cached_program({**base_config, "router": router_config})
    [port] = router(program).inputs["ports"]
    assert (port["ip"], port["external"]) == (bind or "127.0.0.1", 8088)
    assert program.output("editorUrl") == f"http://{host}:8088/"


def test_up_returns_only_once_every_node_red_container_is_healthy_and_the_router_follows_them(base_config):
    """Guards: `pulumi up` returned once MongoDB member 0 and nginx itself were healthy, before the editor
    and workers: opening editorUrl right after gave 502s."""
    program = cached_program({**base_config, "workers": {"replicas": 3}})
    nodered = by_role(program, "editor") + by_role(program, "worker")
    assert len(nodered) == 4
    for container in nodered:
        assert container.inputs["wait"] is True, container.name
        assert container.inputs["waitTimeout"] >= 120
        assert container.inputs["healthcheck"]["tests"][-1] == "readiness"
        assert program.waits_for(router(program), container), f"the router starts before {container.name}"
        # ... and every Node-RED container after MongoDB's member 0 is healthy (it waits for a primary).
        [member0] = [m for m in mongo_members(program) if m.inputs["name"].endswith("-mongo-0")]
        assert member0.inputs["wait"] is True and program.waits_for(container, member0)
