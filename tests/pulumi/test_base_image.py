"""The base image the Node-RED image is built FROM: a tag that exists, on a maintained Node.js line.

There is no registry to ask here: KNOWN_GOOD lists tags checked by hand, with how. Moving the default
(a new node-red in nodered_image/package.json, or another image.nodeVersion) fails this test until the
new tag is checked and added."""

import re

import pulumi
import pytest

from stack_config import parse
from stack_config.model import ImageConfig, locked_node_red_version

from .docker_helpers import DOCKER_KEPT_SECRETS
from .mock_program import ROOT

# nodered/node-red tags checked to exist: the Node-RED Docker project builds every 4.x release for Node.js
# 18, 20 and 22 (README tag tables of node-red/node-red-docker for 4.0.x and 4.1.x; issue #507 there:
# no Node.js 24 builds for 4.1.x), and node-red 4.1.15 is published on npm.
KNOWN_GOOD = {"4.1.15-22"}

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


def test_node_20_and_older_lines_are_refused():
    config = {"editorPassword": "correct-horse-battery", **DOCKER_KEPT_SECRETS}
    assert parse({**config, "image": {"nodeVersion": 24}}).image.node_version == 24
    for old in (18, 20):
        with pytest.raises(pulumi.RunError, match="nodered-scale:image.nodeVersion"):
            parse({**config, "image": {"nodeVersion": old}})
