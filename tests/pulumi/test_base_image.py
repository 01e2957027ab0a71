"""The base image the Node-RED image is built FROM: a tag that exists, on a maintained Node.js line.

There is no registry to ask here: KNOWN_GOOD lists tags checked by hand, with how. Moving the default
(a new node-red in nodered_image/package.json, or another image.nodeVersion) fails this test until the
new tag is checked and added."""

import re

import pulumi
import pytest

from local_stack.node_lines import LINES
from stack_config import parse
from stack_config.model import BASE_IMAGE_NODE_LINES, ImageConfig, locked_node_red_version

from .docker_helpers import DOCKER_KEPT_SECRETS
from .mock_program import ROOT

# nodered/node-red tags checked to exist: the Node-RED Docker project builds every 4.x release for Node.js
# 18, 20 and 22 (README tag tables of node-red/node-red-docker for 4.0.x and 4.1.x; issue #507 there:
# no Node.js 24 builds for 4.1.x), and every 5.x release for Node.js 24 only (its build matrix since 5.0.0,
# `node: [24]`; README tag table 5.0.4-24, -24-minimal, -debian); node-red 4.1.15 and 5.0.7 are published
# on npm.
KNOWN_GOOD = {"4.1.15-22", "5.0.7-24"}

DOCKERFILE = (ROOT / "nodered_image" / "Dockerfile").read_text()


def test_the_default_base_tag_is_a_checked_one_on_a_maintained_node_line():
    """Guards: the image defaulted to nodered/node-red:<version>, whose Node.js 20 reached its end of life
    in April 2026, and nothing checked that the default tag exists."""
    config = ImageConfig()
    assert config.node_red_version == locked_node_red_version()
    assert config.base_tag in KNOWN_GOOD
    assert config.node_version >= 22


def test_the_dockerfile_builds_from_the_same_tag_by_default():
    """`docker build nodered_image` without build args (as someone might) gives the same base as the program."""
    args = dict(re.findall(r"^ARG (NODE_RED_VERSION|NODE_VERSION)=(\S+)$", DOCKERFILE, re.M))
    assert f"{args['NODE_RED_VERSION']}-{args['NODE_VERSION']}" == ImageConfig().base_tag
    assert re.search(r"^FROM nodered/node-red:\$\{NODE_RED_VERSION\}-\$\{NODE_VERSION\}$", DOCKERFILE, re.M)


CONFIG = {"editorPassword": "correct-horse-battery", **DOCKER_KEPT_SECRETS}


def test_node_20_and_older_lines_are_refused():
    assert parse({**CONFIG, "image": {"nodeVersion": 24}}).image.node_version == 24
    for old in (18, 20):
        with pytest.raises(pulumi.RunError, match="nodered-scale:image.nodeVersion"):
            parse({**CONFIG, "image": {"nodeVersion": old}})


def test_the_default_is_node_red_5_on_node_24():
    """Guards: the default stayed Node-RED 4.1 on Node.js 22 after Node-RED 5 became the current major."""
    assert ImageConfig().base_tag.startswith("5.")
    assert ImageConfig().node_version == 24


def test_node_red_4_1_stays_selectable_on_its_tested_line():
    """`image.nodeRedVersion: 4.1.15` builds on a checked tag, by default on Node.js 22 (its only maintained
    line), and it is the 4.1 the storage and context tests run against (local_stack/node-red-4.1)."""
    tested = LINES["4.1"].node_red_version()
    image = parse({**CONFIG, "image": {"nodeRedVersion": tested}}).image
    assert image.base_tag == f"{tested}-22" and image.base_tag in KNOWN_GOOD
    assert parse({**CONFIG, "image": {"nodeRedVersion": tested, "nodeVersion": 22}}).image.base_tag == image.base_tag
    assert LINES["4.1"].node_major == 22 and LINES["5"].node_major == 24


@pytest.mark.parametrize(
    ("image", "key", "words"),
    [
        ({"nodeRedVersion": "4.1.15", "nodeVersion": 24}, "image.nodeVersion", "no nodered/node-red:4.1.15-24"),
        ({"nodeRedVersion": "5.0.7", "nodeVersion": 22}, "image.nodeVersion", "no nodered/node-red:5.0.7-22"),
        ({"nodeVersion": 22}, "image.nodeVersion", "Node-RED 5.x images on a maintained Node.js line are on 24"),
        ({"nodeRedVersion": "4.0.5"}, "image.nodeRedVersion", "Node-RED 5.x and 4.1.x only"),
        ({"nodeRedVersion": "3.1.9", "nodeVersion": 22}, "image.nodeRedVersion", "Node-RED 5.x and 4.1.x only"),
        ({"nodeRedVersion": "6.0.0"}, "image.nodeRedVersion", "Node-RED 5.x and 4.1.x only"),
    ],
)
def test_combinations_the_node_red_project_does_not_publish_are_refused(image, key, words):
    """Guards: any nodeRedVersion/nodeVersion pair was accepted, and `docker build` failed on a tag that does
    not exist (no nodered/node-red 4.1.x on Node.js 24, no 5.x below 24)."""
    with pytest.raises(pulumi.RunError, match=f"nodered-scale:{key}: .*{words}"):
        parse({**CONFIG, "image": image})


def test_every_published_line_has_a_checked_tag():
    lines = {tag.split("-")[1] for tag in KNOWN_GOOD}
    assert {str(n) for ns in BASE_IMAGE_NODE_LINES.values() for n in ns} <= lines
