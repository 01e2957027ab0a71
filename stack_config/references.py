"""Docker image references as the Docker engine accepts them (the grammar of distribution's `reference`
package): values from stack config reach the Docker API and the image build, so anything else is refused
here, with the key named, instead of by the engine halfway through an `up`."""

import re

# A registry host: DNS labels joined by dots, or localhost, with an optional port.
_LABEL = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?"
# A path component: lowercase letters and digits, separated by '.', '_', '__' or dashes.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = rf"(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

REPOSITORY = re.compile(_REPOSITORY)
# A pinned image: a repository with a tag, a digest, or both.
PINNED_IMAGE = re.compile(rf"{_REPOSITORY}(?::{_TAG}(?:@{_DIGEST})?|@{_DIGEST})")
# Docker's limit on the name part of a reference.
MAX_NAME_LENGTH = 255


def repository(value: str) -> str:
    """`value` if it is an image name without tag or digest (e.g. `nodered-scale`, `registry:5000/team/app`)."""
    if len(value) > MAX_NAME_LENGTH or not REPOSITORY.fullmatch(value):
        raise ValueError(
            "must be a Docker image name: lowercase letters, digits and '.', '_', '-' in '/'-separated parts, "
            "optionally after a registry host (e.g. nodered-scale or registry.example.com:5000/team/nodered)"
        )
    return value


def pinned_image(value: str) -> str:
    """`value` if it is an image reference with a tag or digest (e.g. `nginx:1.27.5-alpine`)."""
    if len(_name_of(value)) > MAX_NAME_LENGTH or not PINNED_IMAGE.fullmatch(value):
        raise ValueError(
            "must be a Docker image reference with a tag or digest, e.g. nginx:1.27.5-alpine or "
            "registry.example.com/mongo:7.0.16@sha256:<digest>"
        )
    return value


def _name_of(reference: str) -> str:
    """The repository part of a reference: without digest, and without a tag after the last '/'."""
    name = reference.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return (head + "/" if head else "") + last.split(":", 1)[0]
