"""Views over a mocked docker-target program: containers by role, env as a dict, the router's config."""

import re

from components.docker.router import STAGED_PATH

from .mock_program import Program, Resource

CONTAINER = "docker:index/container:Container"

# What `make up` adds to a docker stack's config (python -m stack_secrets) and the docker target requires:
# the secrets kept across `make down`.
DOCKER_KEPT_SECRETS = {
    "credentialSecret": "kept-credential-secret-0123456789",
    "mongoRootPassword": "kept-root-password-0123456789",
    "mongoAppPassword": "kept-app-password-0123456789",
    "mongoKeyFile": "a2VwdC1rZXktZmlsZS0wMTIzNDU2Nzg5",
}


def containers(program: Program) -> list[Resource]:
    return program.of_type(CONTAINER)


def running_containers(program: Program) -> list[Resource]:
    """The containers that keep running (not the router's config writer, which runs to completion)."""
    return [c for c in containers(program) if c.inputs.get("mustRun", True)]


def env(container: Resource) -> dict[str, str]:
    return dict(item.split("=", 1) for item in container.inputs.get("envs", []))


def by_role(program: Program, role: str) -> list[Resource]:
    return [c for c in containers(program) if env(c).get("NODE_RED_ROLE") == role]


def router(program: Program) -> Resource:
    [found] = [c for c in containers(program) if c.name.endswith("-router-container")]
    return found


def config_writer(program: Program) -> Resource:
    [found] = [c for c in containers(program) if c.name.endswith("-router-config-writer")]
    return found


def router_config(program: Program) -> str:
    """The nginx.conf the config writer delivers to the router."""
    [upload] = [u for u in config_writer(program).inputs["uploads"] if u["file"] == STAGED_PATH]
    return upload["content"]


def upstream_servers(config_text: str) -> list[str]:
    """host:port of every server line in the workers' upstream block."""
    block = re.search(r"upstream\s+\S*workers\S*\s*\{(.*?)\}", config_text, re.S)
    assert block, "no workers upstream in the rendered nginx config"
    return re.findall(r"^\s*server\s+(\S+)\s", block.group(1), re.M)


def ip_of(container: Resource) -> str:
    [net] = container.inputs["networksAdvanced"]
    return net["ipv4Address"]
