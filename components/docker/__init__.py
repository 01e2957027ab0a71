"""The docker target: the whole stack on the local Docker engine (nginx router, MongoDB replica set,
editor and worker containers on a private network)."""

from .stack import DockerStack, DockerStackArgs

__all__ = ["DockerStack", "DockerStackArgs"]
