"""The docker target as Pulumi would create it, driven by stack config (mocks: nothing is deployed)."""

import base64
import secrets
from urllib.parse import urlparse

import pytest

from components.docker.router import CONFIG_DIR, INSTALLER_PATH, PID_FILE, STAGED_PATH, WATCHER_PATH
from nginx.delivery import INSTALLER, WATCHER
from nginx.render import STATUS_PATH, STATUS_PORT
from nodered_contract import DATABASE, HEALTHCHECK_SCRIPT

from . import mock_program
from .docker_helpers import (
    by_role,
    config_writer,
    containers,
    env,
    ip_of,
    router,
    router_config,
    running_containers,
    upstream_servers,
)
from .mock_program import cached_program, is_secret, run_program

VOLUME = "docker:index/volume:Volume"
CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
IMAGE = "docker:index/image:Image"


@pytest.mark.parametrize("replicas", [1, 3, 10])
def test_worker_containers_and_router_upstream_follow_replicas(base_config, replicas):
    program = cached_program({**base_config, "workers": {"replicas": replicas}})
    workers = by_role(program, "worker")
    assert len(workers) == replicas
    assert len({w.inputs["name"] for w in workers}) == replicas
    # The router's upstream lists exactly the workers, by their fixed addresses, and nothing else.
    assert sorted(upstream_servers(router_config(program))) == sorted(f"{ip_of(w)}:1880" for w in workers)
    assert program.output("workerCount") == replicas


def test_scaling_delivers_a_new_config_to_the_running_router_without_replacing_it(base_config):
    """Guards: a scale-up or scale-down replacing the router container, which cuts every client's
    connection and leaves no router until the new one is healthy. pulumi-docker replaces a container
    when its uploads, image, command, volumes, ports, name or most other inputs change: none of the
    router's may follow workers.replicas. The new config goes to the config writer instead, which
    installs it in the volume the router's nginx reads, where the router's watcher reloads it."""
    two = cached_program({**base_config, "workers": {"replicas": 2}})
    five = cached_program({**base_config, "workers": {"replicas": 5}})
    assert router(two).inputs == router(five).inputs, "no diff: the router is neither replaced nor updated"
    assert router_config(two) != router_config(five)
    assert sorted(upstream_servers(router_config(five))) == sorted(f"{ip_of(w)}:1880" for w in by_role(five, "worker"))

    writer, nginx = config_writer(five), router(five)
    [volume] = [v for v in five.of_type(VOLUME) if v.name.endswith("-router-config")]
    mount = {"volumeName": volume.inputs["name"], "containerPath": CONFIG_DIR}
    assert writer.inputs["volumes"] == [mount] and nginx.inputs["volumes"] == [mount]
    # The writer checks and installs the staged config (the script the local stack's LocalRouter runs too) ...
    uploads = {u["file"]: u for u in writer.inputs["uploads"]}
    assert uploads[INSTALLER_PATH]["content"] == INSTALLER.read_text() and uploads[INSTALLER_PATH]["executable"]
    assert writer.inputs["command"] == ["sh", INSTALLER_PATH, STAGED_PATH, CONFIG_DIR, "nginx"]
    # ... as the file nginx is started with, and the watcher beside nginx reloads it when it changes.
    [watcher] = nginx.inputs["uploads"]
    assert (watcher["file"], watcher["content"]) == (WATCHER_PATH, WATCHER.read_text())
    [script] = nginx.inputs["command"][2:]
    assert f"sh {WATCHER_PATH} {CONFIG_DIR} {PID_FILE} nginx &" in script
    assert f"exec nginx -c {CONFIG_DIR}/nginx.conf -g 'daemon off;'" in script


def test_the_config_writer_runs_after_the_instances_and_before_the_router_to_completion(base_config):
    """The writer lists a worker only once its container serves (healthy: wait=True), and the update waits
    for the writer to exit (attach), which is once the router serves the config. Workers left out are
    deleted at the end of the update, after that: out of the router first, then stopped."""
    program = cached_program({**base_config, "workers": {"replicas": 3}})
    writer = config_writer(program)
    waits_for = {program.by_urn(urn).name for urn in writer.dependencies}
    assert {c.name for c in by_role(program, "worker") + by_role(program, "editor")} <= waits_for
    assert writer.urn in router(program).dependencies, "the router starts with a config on its volume"
    assert all(c.inputs["wait"] for c in by_role(program, "worker"))
    assert (writer.inputs["attach"], writer.inputs["mustRun"], writer.inputs["restart"]) == (True, False, "no")
    assert writer.inputs["networkMode"] == "none" and writer.delete_before_replace


def test_a_config_the_router_does_not_take_fails_the_update(base_config, monkeypatch):
    """pulumi-docker records a finished container's exit code but does not fail on it: the program does,
    so a config nginx refused (the router keeps the previous one) never passes for delivered, and the
    update stops before it deletes workers the new config left out."""
    logs = "install-config: the router refused config 0123abcd and keeps the previous one"
    monkeypatch.setitem(
        mock_program.COMPUTED,
        CONTAINER,
        lambda name, inputs: {"exitCode": 1, "containerLogs": logs} if name.endswith("-config-writer") else {},
    )
    with pytest.raises(Exception, match="the router did not take the new config") as failed:
        run_program(base_config)
    assert logs in str(failed.value)


def test_one_editor_with_login_and_workers_without_admin(base_config):
    program = cached_program({**base_config, "workers": {"replicas": 2}, "editor": {"user": "ops"}})
    [editor] = by_role(program, "editor")
    editor_env = env(editor)
    assert editor_env["NODE_RED_EDITOR_USER"] == "ops"
    assert editor_env["NODE_RED_EDITOR_PASSWORD"] == base_config["editorPassword"]
    for worker in by_role(program, "worker"):
        # The editor login is the editor's alone, as on the aws target.
        assert "NODE_RED_EDITOR_PASSWORD" not in env(worker) and "NODE_RED_EDITOR_USER" not in env(worker)


def test_nodered_environment_contract(base_config):
    program = cached_program({**base_config, "httpNodeRoot": "/api", "credentialSecret": "a-long-credential-secret"})
    nodered = by_role(program, "editor") + by_role(program, "worker")
    urls = {env(c)["MONGO_URL"] for c in nodered}
    assert len(urls) == 1
    [url] = urls
    assert url.startswith("mongodb://nodered:") and "replicaSet=rs0" in url and "authSource=admin" in url
    for container in nodered:
        e = env(container)
        assert e["MONGO_DB"] == DATABASE
        assert e["NODE_RED_HTTP_NODE_ROOT"] == "/api"
        assert e["NODE_RED_CREDENTIAL_SECRET"] == "a-long-credential-secret"
        assert e["PORT"] == "1880"
        assert e["NODE_RED_INSTANCE_ID"] == container.inputs["name"]
    assert "location ~* ^/api(?:/|$)" in router_config(program)
    assert program.output("apiBaseUrl") == "http://localhost:8080/api"


def credential_secrets(program) -> set[str]:
    return {env(c)["NODE_RED_CREDENTIAL_SECRET"] for c in by_role(program, "editor") + by_role(program, "worker")}


def fresh_kept_secrets() -> dict[str, str]:
    """Kept secrets as `make up` generates them: new values every call, so no literal in the program can
    match them."""
    return {
        "credentialSecret": secrets.token_urlsafe(24),
        "mongoRootPassword": secrets.token_urlsafe(24),
        "mongoAppPassword": secrets.token_urlsafe(24),
        "mongoKeyFile": base64.b64encode(secrets.token_bytes(48)).decode(),
    }


def test_the_kept_credential_secret_reaches_every_container_and_nothing_is_generated_in_the_state(base_config):
    """Guards: every stack sharing one encryption key (a literal in place of the stack's own value), or a
    secret generated by a random resource that `pulumi destroy` forgets while the MongoDB volumes stay."""
    one, other = fresh_kept_secrets(), fresh_kept_secrets()
    program = cached_program({**base_config, **one})
    assert not [r for r in program.resources if r.type.startswith("random:")]
    assert credential_secrets(program) == {one["credentialSecret"]}
    assert credential_secrets(cached_program({**base_config, **other}, stack="other")) == {other["credentialSecret"]}


def test_the_kept_mongodb_secrets_reach_the_members_and_node_reds_url(base_config):
    """Guards: the replica set's secrets replaced by literals (the same for every stack), or the members and
    Node-RED's MONGO_URL disagreeing on the app user's password."""
    kept = fresh_kept_secrets()
    program = cached_program({**base_config, **kept, "mongo": {"members": 3}})
    members = [c for c in containers(program) if "-mongo-" in c.inputs["name"]]
    assert len(members) == 3
    for member in members:
        e = env(member)
        assert e["MONGO_INITDB_ROOT_PASSWORD"] == kept["mongoRootPassword"]
        assert e["MONGO_APP_PASSWORD"] == kept["mongoAppPassword"]
        assert e["MONGO_KEYFILE_CONTENT"] == kept["mongoKeyFile"]
    for instance in by_role(program, "editor") + by_role(program, "worker"):
        url = urlparse(env(instance)["MONGO_URL"])
        assert (url.username, url.password) == ("nodered", kept["mongoAppPassword"])


def test_only_the_router_publishes_a_host_port(base_config):
    program = cached_program({**base_config, "router": {"port": 9090}})
    published = {c.name: c.inputs.get("ports", []) for c in containers(program) if c.inputs.get("ports")}
    assert list(published) == [router(program).name]
    [port] = published[router(program).name]
    assert port["external"] == 9090 and port["internal"] == 8080
    assert program.output("editorUrl") == "http://localhost:9090/"


def test_mongo_published_only_on_loopback_when_asked(base_config):
    program = cached_program({**base_config, "mongo": {"publishPort": 27018}})
    [mongo0] = [c for c in containers(program) if c.inputs["name"].endswith("-mongo-0")]
    assert mongo0.inputs["ports"] == [{"internal": 27017, "external": 27018, "ip": "127.0.0.1"}]
    others = [c for c in containers(program) if c.inputs.get("ports") and c is not mongo0]
    assert others == [router(program)]


def test_every_container_is_on_the_private_network_at_a_distinct_address(base_config):
    program = cached_program({**base_config, "workers": {"replicas": 4}, "mongo": {"members": 3}})
    [network] = program.of_type(NETWORK)
    assert network.inputs["ipamConfigs"][0]["subnet"] == "172.28.0.0/24"
    addresses = []
    for container in running_containers(program):
        [attachment] = container.inputs["networksAdvanced"]
        assert attachment["name"] == network.inputs["name"]
        addresses.append(attachment["ipv4Address"])
        assert addresses[-1].startswith("172.28.0.")
    assert len(set(addresses)) == len(addresses)


@pytest.mark.parametrize("members", [1, 3])
def test_mongo_members_containers_and_volumes(base_config, members):
    program = cached_program({**base_config, "mongo": {"members": members}})
    mongo = [c for c in containers(program) if "-mongo-" in c.inputs["name"]]
    volumes = [v for v in program.of_type(VOLUME) if "-mongo-data-" in v.inputs["name"]]
    assert len(mongo) == members and len(volumes) == members
    mounted = {v["volumeName"] for c in mongo for v in c.inputs["volumes"]}
    assert mounted == {v.inputs["name"] for v in volumes}
    hosts = ",".join(f"{c.inputs['name']}:27017" for c in sorted(mongo, key=lambda c: c.inputs["name"]))
    for container in mongo:
        assert env(container)["MONGO_RS_MEMBERS"] == hosts
    # Exactly one member reconciles the set, and Node-RED's URL names every member.
    assert sum(env(c)["MONGO_RS_RECONCILER"] == "true" for c in mongo) == 1
    [editor] = by_role(program, "editor")
    assert hosts in env(editor)["MONGO_URL"]


def test_secrets_are_marked_secret(base_config):
    program = cached_program({**base_config, "credentialSecret": "a-long-credential-secret"})
    for container in containers(program):
        if container.inputs.get("envs"):
            assert is_secret(container.raw_inputs["envs"]), f"{container.name} env is not secret"
    # No output carries a secret value in clear.
    for name, value in program.outputs.items():
        text = str(value)
        assert base_config["editorPassword"] not in text and "a-long-credential-secret" not in text, name


def test_health_checks_and_restart_policy(base_config):
    program = cached_program(base_config)
    for container in running_containers(program):
        assert container.inputs["restart"] == "unless-stopped", container.name
        if env(container).get("NODE_RED_ROLE"):
            # The image's healthcheck.js probing readiness (GET /healthz), shown by `docker ps`.
            assert container.inputs["healthcheck"]["tests"] == ["CMD", "node", HEALTHCHECK_SCRIPT, "readiness"]
    assert "/_router/healthz" in " ".join(router(program).inputs["healthcheck"]["tests"])


def test_image_built_once_from_nodered_image_with_version_and_extra_nodes(base_config):
    program = cached_program(
        {
            **base_config,
            "image": {
                "nodeRedVersion": "4.1.10",
                "extraNodes": ["node-red-contrib-foo@1.2.3", "node-red-node-bar"],
                "functionModules": ["dayjs@1.11.13", "@scope/lib"],
            },
        }
    )
    [image] = program.of_type(IMAGE)
    build = image.inputs["build"]
    assert build["context"].endswith("nodered_image")
    assert build["args"] == {
        "NODE_RED_VERSION": "4.1.10",
        "NODE_VERSION": "22",
        "EXTRA_NODES": "node-red-contrib-foo@1.2.3 node-red-node-bar",
        # Baked for function nodes by nodered_image/bake-function-modules.sh.
        "FUNCTION_MODULES": "dayjs@1.11.13 @scope/lib",
    }
    assert image.inputs["skipPush"] is True
    assert "platform" not in build  # the local engine's own architecture
    # The containers run the image this build made (its id), never whatever its tag names now.
    refs = {c.inputs["image"] for c in by_role(program, "editor") + by_role(program, "worker")}
    assert refs == {image.state["repoDigest"]} and refs.pop().startswith("sha256:")


def test_a_changed_image_input_changes_the_tag(base_config):
    def tag(**image):
        [built] = cached_program({**base_config, "image": image}).of_type(IMAGE)
        return built.inputs["imageName"]

    assert tag(extraNodes=[]) != tag(extraNodes=["node-red-contrib-foo@1.0.0"])
    assert tag(functionModules=[]) != tag(functionModules=["dayjs@1.11.13"])


def test_children_are_parented_to_their_component(base_config):
    program = cached_program(base_config)
    for resource in program.resources:
        parent = resource.parent_types()[-1]
        if resource.type.startswith(("docker:", "random:")):
            assert parent.startswith("nodered-scale:"), f"{resource.name} is not inside a component"
            assert resource.name.startswith("nodered-"), f"{resource.name} is not named from its component"
        elif resource.type != "nodered-scale:docker:DockerStack":
            assert parent == "nodered-scale:docker:DockerStack", (resource.name, parent)


def test_a_second_up_with_the_same_config_asks_for_exactly_the_same(base_config):
    # Nothing derived from time or randomness outside the state: `pulumi up` twice changes nothing.
    config = {**base_config, "workers": {"replicas": 3}, "mongo": {"members": 3}}
    first, second = run_program(config), run_program(config)
    assert {(r.type, r.name): r.inputs for r in first.resources} == {
        (r.type, r.name): r.inputs for r in second.resources
    }


def test_named_containers_are_replaced_delete_first(base_config):
    # Docker refuses a second container with the same name, fixed address or published port: a
    # create-then-delete replacement (Pulumi's default) of any of them would fail on a real engine.
    program = cached_program({**base_config, "mongo": {"members": 3}})
    for container in containers(program):
        assert container.inputs["name"], container.name
        assert container.delete_before_replace, f"{container.name} would be created before the old one is gone"


@pytest.mark.parametrize("limit", [None, 1, 64])
def test_one_body_limit_for_the_router_and_every_instance(base_config, limit):
    """bodyLimitMb (default 5) reaches nginx's client_max_body_size and its 413 answer, and every
    instance's NODE_RED_BODY_LIMIT_MB: a body the router lets through is never refused behind it."""
    program = cached_program({**base_config, **({"bodyLimitMb": limit} if limit else {})})
    mb = limit or 5
    config = router_config(program)
    assert f"client_max_body_size {mb}m;" in config
    assert f'"limitBytes":{mb * 1024 * 1024}' in config
    for container in by_role(program, "editor") + by_role(program, "worker"):
        assert env(container)["NODE_RED_BODY_LIMIT_MB"] == str(mb)


def test_instances_trust_forwarded_addresses_from_the_router_only(base_config):
    """The editor counts failed logins per client address: only the router's X-Forwarded-For says who
    the client is; from anyone else the header is ignored."""
    program = cached_program({**base_config, "network": {"subnet": "10.9.8.0/24"}})
    router_ip = ip_of(router(program))
    assert router_ip == "10.9.8.2"
    for container in by_role(program, "editor") + by_role(program, "worker"):
        assert env(container)["NODE_RED_TRUSTED_PROXIES"] == router_ip


def test_router_counters_listen_on_an_internal_port_that_is_not_published(base_config):
    """Guards: the router's own counters (stub_status) published on the host next to the flows."""
    program = cached_program(base_config)
    config = router_config(program)
    assert f"listen 0.0.0.0:{STATUS_PORT};" in config and f"location = {STATUS_PATH}" in config
    assert [p["internal"] for p in router(program).inputs["ports"]] == [8080]
    # The public server refuses /metrics itself (every instance's own, for scrapers on the network).
    assert "location ~* ^/(?:healthz|livez|metrics)(?:/|$)" in config
