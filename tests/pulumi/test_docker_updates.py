"""docker target: later `make up`s change only what changed. The image's tag follows exactly what its build uses,
the containers follow a rebuilt image whatever its tag, health check durations are written as the provider reads
them back (no spurious update on every `up` or `--refresh`), and the network leaves Docker a dynamic range
outside the stack's fixed addresses."""

import ipaddress
import re
import shutil
from decimal import Decimal

import pytest

import components.image
from components.build_inputs import DockerIgnore, copy_sources

from . import mock_program
from .docker_helpers import by_role, containers, env, ip_of
from .mock_program import built_image_digest, cached_program, is_secret, run_program

IMAGE = "docker:index/image:Image"
NETWORK = "docker:index/network:Network"
DURATION_FIELDS = ("interval", "timeout", "startPeriod", "startInterval")


@pytest.fixture
def context(tmp_path, monkeypatch):
    """A copy of nodered_image/ (its installed packages left out) the program builds from."""
    copy = tmp_path / "nodered_image"
    shutil.copytree(components.image.CONTEXT, copy, ignore=shutil.ignore_patterns("node_modules"))
    monkeypatch.setattr(components.image, "CONTEXT", copy)
    return copy


def image_tag(config) -> str:
    [image] = run_program(config).of_type(IMAGE)
    return image.inputs["imageName"].rsplit(":", 1)[1]


def test_the_tag_changes_with_what_the_build_uses_and_only_with_that(base_config, context):
    """Guards: the tag was a digest of every file under nodered_image/ but node_modules and tests, so editing its
    README.md (or any file the Dockerfile never copies) gave a new tag and replaced every Node-RED container (a
    short outage) for an identical image."""
    before = image_tag(base_config)
    unused = ["README.md", "eslint.config.js", "test_support/secantus.js", "test/gate.test.js", "notes.txt"]
    for rel in unused:
        (context / rel).parent.mkdir(parents=True, exist_ok=True)
        with open(context / rel, "a") as f:
            f.write("\n// edited\n")
        assert image_tag(base_config) == before, f"{rel} is not in the image"
    used = ["server.js", "storage/lib/flows.js", "lib/gate.js", "package-lock.json", "editor_plugin/instances.html"]
    seen = {before}
    for rel in used:
        with open(context / rel, "a") as f:
            f.write("\n// edited\n")
        tag = image_tag(base_config)
        assert tag not in seen, f"{rel} is copied into the image"
        seen.add(tag)
    # A new file inside a directory the Dockerfile copies is in the image too.
    (context / "lib" / "new_helper.js").write_text("'use strict';\n")
    assert image_tag(base_config) not in seen
    seen.add(image_tag(base_config))
    # The Dockerfile itself (a RUN line, the base image's ADD), and the build args.
    with open(context / "Dockerfile", "a") as f:
        f.write("\nLABEL edited=1\n")
    assert image_tag(base_config) not in seen
    assert image_tag({**base_config, "image": {"extraNodes": ["node-red-contrib-foo@1.0.0"]}}) not in seen


def test_what_dockerignore_leaves_out_of_a_copied_directory_is_not_hashed(base_config, context):
    """The hash and the build honour the same .dockerignore (one source of truth): a file it leaves out of the
    context never reaches the image, even inside a copied directory."""
    with open(context / ".dockerignore", "a") as f:
        f.write("\nlib/*.md\n")
    before = image_tag(base_config)
    (context / "lib" / "NOTES.md").write_text("notes\n")
    assert image_tag(base_config) == before
    (context / "lib" / "NOTES.txt").write_text("notes\n")
    assert image_tag(base_config) != before


@pytest.mark.parametrize(
    "pattern,excluded,kept",
    [
        ("*.log", ["a.log"], ["lib/a.log"]),  # Docker anchors a pattern at the context's root
        ("**/*.log", ["a.log", "lib/a.log", "storage/lib/x/a.log"], ["a.logx"]),
        ("test", ["test/a.test.js", "test"], ["storage/test/a.js", "tests/a.js"]),
        ("storage/test", ["storage/test/a.js"], ["test2/a.js", "storage/lib/a.js"]),
        ("lib/*.md", ["lib/a.md"], ["lib/x/a.md", "a.md"]),
        ("test\n!test/keep.js", ["test/a.js"], ["test/keep.js"]),
        ("/Dockerfile", ["Dockerfile"], ["lib/Dockerfile"]),
    ],
)
def test_dockerignore_patterns_match_as_docker_matches_them(pattern, excluded, kept):
    ignore = DockerIgnore(pattern)
    assert [p for p in excluded if not ignore.excludes(p)] == []
    assert [p for p in kept if ignore.excludes(p)] == []


def test_copy_sources_are_read_from_every_form_of_copy_and_add():
    dockerfile = "\n".join(
        [
            "FROM x AS build",
            "ADD https://example.com/ca.pem /etc/ca.pem",
            "COPY --chown=a:b one.js two.js /app/",
            'COPY ["three dir", "/app/three"]',
            "COPY --from=build /out /app/out",
            "COPY lib \\",
            "     /app/lib",
            "# COPY commented.js /app/",
            "RUN echo COPY not-an-instruction.js /x",
        ]
    )
    assert copy_sources(dockerfile) == ["one.js", "two.js", "three dir", "lib"]


def test_containers_follow_a_rebuilt_image_even_with_an_explicit_tag(base_config, monkeypatch):
    """Guards: with image.tag set, the containers named the image by its tag, which a rebuild leaves unchanged:
    `up` rebuilt the image and the containers kept running the old one. They name the built image's id, which
    every build changes."""
    config = {**base_config, "image": {"tag": "release-7"}}
    first = run_program(config)
    monkeypatch.setitem(
        mock_program.COMPUTED,
        IMAGE,
        lambda name, inputs: {
            "repoDigest": built_image_digest(inputs, build="second"),
            "imageName": inputs["imageName"],
        },
    )
    second = run_program(config)
    [image1], [image2] = first.of_type(IMAGE), second.of_type(IMAGE)
    assert image1.inputs["imageName"] == image2.inputs["imageName"] == "nodered-scale:release-7"
    for role in ("editor", "worker"):
        refs1 = {c.inputs["image"] for c in by_role(first, role)}
        refs2 = {c.inputs["image"] for c in by_role(second, role)}
        assert refs1 == {image1.state["repoDigest"]} and refs2 == {image2.state["repoDigest"]}
        assert refs1 != refs2, f"the {role} containers must be replaced onto the rebuilt image"


_GO_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def go_parse_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds (what the Docker provider does with a duration it is given)."""
    if text == "0":
        return 0
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"Go cannot parse the duration {text!r}"
    return int(sum(Decimal(n) * _GO_UNITS[u] for n, u in parts))


def _decimal(value: Decimal) -> str:
    """A number as Go prints a duration's: no exponent, no trailing fractional zeros."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def go_format_duration(ns: int) -> str:
    """Go's time.Duration.String(): how the provider writes back a duration it read from the engine."""
    if ns == 0:
        return "0s"
    if ns < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if ns >= size:
                return _decimal(Decimal(ns) / size) + unit
    hours, rest = divmod(ns, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = _decimal(Decimal(rest) / 10**9) + "s"
    if hours:
        return f"{hours}h{minutes}m{seconds}"
    return f"{minutes}m{seconds}" if minutes else seconds


@pytest.mark.parametrize("text,normal", [("60s", "1m0s"), ("90s", "1m30s"), ("0.5s", "500ms"), ("3600s", "1h0m0s")])
def test_the_normaliser_is_gos(text, normal):
    assert go_format_duration(go_parse_duration(text)) == normal


def test_every_duration_is_written_as_the_provider_reads_it_back(base_config):
    """Guards: start_period="60s" came back from the engine as "1m0s": every later `pulumi up` and `--refresh`
    showed every Node-RED and MongoDB container as changed. Each duration the program writes must survive Go's
    parse and format unchanged."""
    program = cached_program({**base_config, "mongo": {"members": 3}})
    written = [
        (c.name, field, c.inputs["healthcheck"][field])
        for c in containers(program)
        if c.inputs.get("healthcheck")
        for field in DURATION_FIELDS
        if field in c.inputs["healthcheck"]
    ]
    assert {field for _, field, _ in written} == set(DURATION_FIELDS)
    changed = [
        (name, field, value) for name, field, value in written if go_format_duration(go_parse_duration(value)) != value
    ]
    assert changed == []


@pytest.mark.parametrize("subnet", ["172.28.0.0/24", "10.20.0.0/16", "192.168.50.0/23"])
def test_docker_hands_out_addresses_only_outside_the_fixed_ones(base_config, subnet):
    """Guards: the private network set no ip_range, so a container attached to it by hand (`docker run
    --network ...`) could get a worker's fixed address from Docker and block that worker's replacement."""
    program = cached_program(
        {**base_config, "network": {"subnet": subnet}, "workers": {"replicas": 200}, "mongo": {"members": 3}}
    )
    [network] = program.of_type(NETWORK)
    [ipam] = network.inputs["ipamConfigs"]
    dynamic = ipaddress.ip_network(ipam["ipRange"])
    assert dynamic.subnet_of(ipaddress.ip_network(subnet)) and dynamic.num_addresses >= 16
    fixed = [ipaddress.ip_address(ip_of(c)) for c in containers(program) if c.inputs.get("networksAdvanced")]
    assert len(fixed) == 200 + 1 + 3 + 1  # workers, editor, MongoDB members, router
    assert [str(a) for a in fixed if a in dynamic] == []
    assert ipaddress.ip_address(ipam["gateway"]) not in dynamic


def test_during_a_rotation_every_node_red_container_gets_the_previous_key(base_config):
    """The key before credentialSecret (stack config previousCredentialSecret) reaches the editor and every worker
    while a rotation is under way (docs/operations.md), and no container outside one."""
    previous = "the-key-before-0123456789"
    program = cached_program({**base_config, "previousCredentialSecret": previous, "workers": {"replicas": 2}})
    nodered = by_role(program, "editor") + by_role(program, "worker")
    assert {env(c)["NODE_RED_PREVIOUS_CREDENTIAL_SECRET"] for c in nodered} == {previous}
    assert {env(c)["NODE_RED_CREDENTIAL_SECRET"] for c in nodered} == {base_config["credentialSecret"]}
    assert all(is_secret(c.raw_inputs["envs"]) for c in nodered)
    assert not [c for c in containers(cached_program(base_config)) if "NODE_RED_PREVIOUS_CREDENTIAL_SECRET" in env(c)]
