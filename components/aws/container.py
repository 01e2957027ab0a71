"""The Node-RED container definition for ECS: the image's environment contract, secrets by reference."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nodered_contract import DOCUMENTDB_CA_FILE, PORT, healthcheck_command

from ..nodered_environment import TargetEnvironment

# The launcher force-exits 15 s after SIGTERM; ECS must wait a little longer before SIGKILL.
STOP_TIMEOUT_SECONDS = 20
# Node keeps idle connections open this much longer than the load balancer does.
KEEPALIVE_MARGIN_SECONDS = 5
# The container health check, whose failure makes ECS replace the task, probes liveness (the process
# serves HTTP). Never readiness: a deploy whose flows cannot start would make ECS restart every task in
# a loop, the editor too, where the flows must be fixed.
HEALTH_CHECK = healthcheck_command("liveness")


def keepalive_seconds(idle_timeout_seconds: int) -> int:
    """Node's keep-alive timeout behind the ALB: longer than the ALB's idle timeout, so the ALB always
    closes an idle connection first and never sends a request on one Node is closing (a 502)."""
    return idle_timeout_seconds + KEEPALIVE_MARGIN_SECONDS


# The tasks admit HTTP only from the load balancer's security group, and its nodes have private
# addresses in the VPC: X-Forwarded-For is read from those peers only (its last entry, the client
# address the ALB appended), never from anyone else.
TRUSTED_PROXIES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def target_environment(documentdb: bool, idle_timeout_seconds: int) -> TargetEnvironment:
    """What the aws target adds to every role's plain environment (nodered_contract.environment's
    keyword arguments). idle_timeout_seconds: the load balancer's idle timeout."""
    return {
        "trusted_proxies": TRUSTED_PROXIES,
        "keepalive_seconds": keepalive_seconds(idle_timeout_seconds),
        # TLS to DocumentDB with the CA bundle the image ships; DocumentDB has change streams off per
        # collection until enabled, which the editor does at start (the contract gives it the editor only).
        "tls_ca_file": DOCUMENTDB_CA_FILE if documentdb else None,
        "enable_change_streams": documentdb,
    }


@dataclass
class SetupStep:
    """A container that runs to completion before Node-RED starts in the same task (same image), e.g. the
    database setup with the admin login, which Node-RED's own container never gets."""

    name: str
    command: list[str]
    environment: Mapping[str, str]
    secret_names: tuple[str, ...]  # variables it gets from Secrets Manager
    deadline_seconds: int  # it has exited (0 or not) this long after it started


def _logs(log_group: str, region: str, stream_prefix: str) -> dict[str, Any]:
    return {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": log_group,
            "awslogs-region": region,
            "awslogs-stream-prefix": stream_prefix,
            # A log backlog must not block Node-RED's event loop.
            "mode": "non-blocking",
            "max-buffer-size": "4m",
        },
    }


def _env_and_secrets(environment: Mapping[str, str], secrets: Mapping[str, str]) -> dict[str, Any]:
    overlap = set(environment) & set(secrets)
    if overlap:
        raise ValueError(f"variables both plain and secret: {sorted(overlap)}")
    return {
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(secrets.items())],
    }


def definition(
    *,
    name: str,
    image: str,
    environment: Mapping[str, str],
    secrets: Mapping[str, str],
    log_group: str,
    region: str,
    stream_prefix: str | None = None,
    setup: SetupStep | None = None,
    setup_secrets: Mapping[str, str] | None = None,
) -> str:
    """The task definition's containerDefinitions JSON. `secrets` maps variable -> Secrets Manager valueFrom;
    `setup_secrets` the same for the `setup` container, which must exit 0 before Node-RED starts."""
    containers: list[dict[str, Any]] = []
    if setup is not None:
        given = dict(setup_secrets or {})
        if set(given) != set(setup.secret_names):
            raise ValueError(f"setup_secrets: {sorted(given)} given, {sorted(setup.secret_names)} needed")
        containers.append(
            {
                "name": setup.name,
                "image": image,
                "essential": False,
                "command": setup.command,
                **_env_and_secrets(setup.environment, given),
                "logConfiguration": _logs(log_group, region, setup.name),
            }
        )
    container = {
        "name": name,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": PORT, "protocol": "tcp", "name": "http"}],
        **_env_and_secrets(environment, secrets),
        "healthCheck": {
            "command": HEALTH_CHECK,
            "interval": 15,
            "timeout": 5,
            "retries": 3,
            "startPeriod": 90,
        },
        "stopTimeout": STOP_TIMEOUT_SECONDS,
        # Many concurrent HTTP requests per worker: lift the open-files limit.
        "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
        "logConfiguration": _logs(log_group, region, stream_prefix or name),
    }
    if setup is not None:
        # Node-RED starts only once the setup exited 0; a failed setup stops the task (ECS retries it).
        container["dependsOn"] = [{"containerName": setup.name, "condition": "SUCCESS"}]
    containers.append(container)
    return json.dumps(containers)
