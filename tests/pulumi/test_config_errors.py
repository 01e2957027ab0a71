"""Bad stack config stops the program before anything is created, with a message naming the key."""

import pulumi
import pytest

from stack_config import parse

from . import mock_program
from .docker_helpers import DOCKER_KEPT_SECRETS
from .mock_program import run_program

BASE = {"editorPassword": "correct-horse-battery", **DOCKER_KEPT_SECRETS}

BAD = [
    ({"workers": {"replicas": 0}}, "nodered-scale:workers.replicas", "greater than or equal to 1"),
    ({"workers": {"replicas": -1}}, "nodered-scale:workers.replicas", "greater than or equal to 1"),
    ({"workers": {"replicas": "three"}}, "nodered-scale:workers.replicas", "valid integer"),
    ({"workers": {"replica": 3}}, "nodered-scale:workers.replica", "unknown key (did you mean replicas?)"),
    # Top-level keys the model does not know were read by nobody: the stack deployed the defaults.
    ({"worker": {"replicas": 5}}, "nodered-scale:worker", "unknown key (did you mean workers?)"),
    ({"bodyLimitMB": 50}, "nodered-scale:bodyLimitMB", "unknown key (did you mean bodyLimitMb?)"),
    ({"httpnoderoot": "/api"}, "nodered-scale:httpnoderoot", "unknown key (did you mean httpNodeRoot?)"),
    ({"frobnicate": "yes"}, "nodered-scale:frobnicate", "unknown key"),
    ({"mongo": {"member": 3}}, "nodered-scale:mongo.member", "unknown key (did you mean members?)"),
    ({"workers": 3}, "nodered-scale:workers", "valid dictionary"),
    ({"mongo": {"members": 2}}, "nodered-scale:mongo.members", "1 or 3"),
    ({"target": "gcp"}, "nodered-scale:target", "'docker' or 'aws'"),
    ({"httpNodeRoot": "red-nodes"}, "nodered-scale:httpNodeRoot", "must start with '/'"),
    ({"httpNodeRoot": "/"}, "nodered-scale:httpNodeRoot", "not '/' itself"),
    ({"httpNodeRoot": "/red-nodes/"}, "nodered-scale:httpNodeRoot", "must not end with '/'"),
    ({"httpNodeRoot": "/Flows"}, "nodered-scale:httpNodeRoot", "must not start with '/Flows'"),
    ({"bodyLimitMb": 0}, "nodered-scale:bodyLimitMb", "greater than or equal to 1"),
    ({"bodyLimitMb": 2048}, "nodered-scale:bodyLimitMb", "less than or equal to 1024"),
    ({"bodyLimitMb": "5mb"}, "nodered-scale:bodyLimitMb", "valid integer"),
    ({"router": {"port": 0}}, "nodered-scale:router.port", "greater than or equal to 1"),
    ({"router": {"port": 70000}}, "nodered-scale:router.port", "less than or equal to 65535"),
    ({"editorPassword": "short"}, "nodered-scale:editorPassword", "at least 8 characters"),
    ({"credentialSecret": "tiny"}, "nodered-scale:credentialSecret", "at least 16 characters"),
    ({"network": {"subnet": "10.1.0.0/28"}}, "nodered-scale:network.subnet", "at least a /24"),
    ({"image": {"nodeRedVersion": "latest"}}, "nodered-scale:image.nodeRedVersion", "pattern"),
    ({"mongo": {"mode": "external"}}, "nodered-scale:mongo.mode", "only for target aws"),
    ({"mongoUri": "mongodb://db.example/"}, "nodered-scale:mongoUri", "only for target aws"),
    ({"aws": {"region": "eu-west-1"}}, "nodered-scale:aws", "only for target aws"),
    # Values that reached the Docker API unchecked.
    ({"image": {"name": "evil; rm -rf /"}}, "nodered-scale:image.name", "must be a Docker image name"),
    ({"image": {"name": "Upper/Case"}}, "nodered-scale:image.name", "must be a Docker image name"),
    ({"router": {"image": "evil; rm -rf /"}}, "nodered-scale:router.image", "with a tag or digest"),
    ({"router": {"image": "nginx"}}, "nodered-scale:router.image", "with a tag or digest"),
    ({"mongo": {"image": "mongo:7.0.16 --privileged"}}, "nodered-scale:mongo.image", "with a tag or digest"),
    ({"network": {"subnet": "0.0.0.0/0"}}, "nodered-scale:network.subnet", "private range"),
    ({"network": {"subnet": "127.0.0.0/24"}}, "nodered-scale:network.subnet", "private range"),
    ({"network": {"subnet": "169.254.0.0/16"}}, "nodered-scale:network.subnet", "private range"),
    ({"network": {"subnet": "8.8.8.0/24"}}, "nodered-scale:network.subnet", "private range"),
    ({"network": {"subnet": "10.0.0.0/8"}}, "nodered-scale:network.subnet", "at most a /16"),
    ({"editorPassword": "        "}, "nodered-scale:editorPassword", "not whitespace"),
    ({"editorPassword": " a b c d e f "}, "nodered-scale:editorPassword", "not whitespace"),
    ({"router": {"bindAddress": "localhost"}}, "nodered-scale:router.bindAddress", "IPv4 address"),
    ({"router": {"bindAddress": "224.0.0.1"}}, "nodered-scale:router.bindAddress", "IPv4 address"),
    ({"mongoKeyFile": "not a key file!"}, "nodered-scale:mongoKeyFile", "base64 alphabet"),
    ({"mongoAppPassword": "short"}, "nodered-scale:mongoAppPassword", "at least 16 characters"),
    # httpNodeRoot values that hand editor paths to the workers or flow paths to the editor.
    *[
        ({"httpNodeRoot": root}, "nodered-scale:httpNodeRoot", reason)
        for root, reason in (
            ("/auth", "must not start with '/auth'"),
            ("/flows", "must not start with '/flows'"),
            ("/red", "must not start with '/red'"),
            ("/comms", "must not start with '/comms'"),
            ("/settings", "must not start with '/settings'"),
            ("/_router", "must not start with '/_router'"),
            ("/.", "must not have a '.' segment"),
            ("/..", "must not have a '..' segment"),
            ("/red-nodes/..", "must not have a '..' segment"),
        )
    ],
]


@pytest.mark.parametrize("override,key,reason", BAD, ids=[b[1].split(":")[1] + "=" + str(b[0]) for b in BAD])
def test_bad_config_names_the_key_and_creates_nothing(override, key, reason):
    with pytest.raises(pulumi.RunError) as raised:
        run_program({**BASE, **override})
    message = str(raised.value)
    assert f"{key}:" in message and reason in message, message
    assert mock_program.last_registered == {} or set(t for t, _ in mock_program.last_registered) <= {
        "pulumi:pulumi:Stack"
    }


def test_an_unknown_key_is_refused_without_echoing_its_value():
    """A mistyped secret key is refused by name; its value (a secret) never shows in the error."""
    with pytest.raises(pulumi.RunError) as raised:
        run_program({**BASE, "editorPasword": "hunter2-hunter2", "workers": {"replicas": 2}})
    assert "nodered-scale:editorPasword: unknown key (did you mean editorPassword?)" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_the_keys_the_engine_hands_over_are_all_read(monkeypatch):
    """The engine gives the program the stack's config in PULUMI_CONFIG: every key under the namespace
    is seen there, other namespaces are left alone."""
    from pulumi.runtime import config as runtime_config

    from stack_config.load import namespace_keys

    monkeypatch.setattr(runtime_config, "CONFIG", runtime_config.ContextVar("test_config", default={}))
    monkeypatch.setenv(
        "PULUMI_CONFIG", '{"nodered-scale:worker": "{}", "nodered-scale:target": "docker", "aws:region": "x"}'
    )
    assert namespace_keys() == {"worker", "target"}


def test_missing_editor_password_says_how_to_set_it():
    with pytest.raises(
        pulumi.RunError, match=r"nodered-scale:editorPassword: is required \(pulumi config set --secret"
    ):
        run_program({"workers": {"replicas": 2}})


def test_every_bad_key_is_reported_at_once():
    with pytest.raises(pulumi.RunError) as raised:
        parse({**BASE, "workers": {"replicas": 0}, "router": {"port": 0}, "mongo": {"members": 2}})
    for key in ("workers.replicas", "router.port", "mongo.members"):
        assert f"nodered-scale:{key}:" in str(raised.value)


def test_secret_values_never_appear_in_errors():
    with pytest.raises(pulumi.RunError) as raised:
        parse({"editorPassword": "sh0rt", "credentialSecret": "also-short"})
    assert "sh0rt" not in str(raised.value) and "also-short" not in str(raised.value)


def test_defaults():
    config = parse(BASE)
    assert (
        config.target,
        config.workers.replicas,
        config.router.port,
        config.mongo.members,
        config.http_node_root,
    ) == ("docker", 2, 8080, 1, "/red-nodes")
    assert config.editor.user == "admin"
    assert (config.router.bind_address, config.image.node_version) == ("127.0.0.1", 24)


@pytest.mark.parametrize(
    "extra",
    [
        {"mongo": {"mode": "external"}},
        {"workers": {"cpu": 300}},
        {"mongo": {"mode": "external"}, "mongoUri": "mongodb://u:pw-xyz@h/", "workers": {"replicas": 50}},
    ],
)
def test_secrets_never_appear_in_aws_model_errors(extra):
    with pytest.raises(pulumi.RunError) as raised:
        parse({"target": "aws", "editorPassword": "correct-horse-battery", **extra})
    assert "correct-horse" not in str(raised.value) and "pw-xyz" not in str(raised.value)


def test_every_key_of_the_model_is_read_from_the_stack():
    """A key the model knows but the loader never reads would be silently ignored in Pulumi.<stack>.yaml."""
    from stack_config import load
    from stack_config.model import StackConfig

    read = set(load._OBJECT_KEYS + load._SCALAR_KEYS + load._INTEGER_KEYS + load._SECRET_KEYS)
    assert read == {field.alias or name for name, field in StackConfig.model_fields.items()}
