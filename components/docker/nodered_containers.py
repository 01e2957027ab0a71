"""docker target: Node-RED containers, the editor and the workers (same image, role from the environment)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from nodered_contract import CONTAINER_HEALTHCHECK, PORT, ROLES, healthcheck_command, role_secrets

from .container_settings import LOG_DRIVER, LOG_OPTS, duration
from .private_network import PrivateNetwork

# The launcher force-exits 15 s after SIGTERM (requests drained, flows closed): Docker must wait longer.
STOP_SECONDS = 20
# How long `pulumi up` waits for a container's health check to pass: Node-RED waits for MongoDB, then
# loads the newest flows (the health check's start period is 60 s).
HEALTHY_WITHIN_SECONDS = 180


@dataclass
class NodeRedContainersArgs:
    role: str  # "editor" or "worker"
    replicas: int
    image: pulumi.Input[str]
    network: PrivateNetwork
    prefix: str  # Docker container names
    # The role's plain environment (components/nodered_environment.py); each container adds its
    # instance id, its container name.
    environment: Mapping[str, str]
    # Every secret of the stack by variable name (None: not given); each container gets its role's only.
    secrets: Mapping[str, pulumi.Input[str] | None]
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)
    # The flows' own secret variables (flowSecrets): every container gets them.
    flow_secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


def as_env_list(plain: Mapping[str, str], secrets: Mapping[str, pulumi.Input[str]]) -> pulumi.Output[list[str]]:
    """KEY=VALUE list for a container; secret whenever a secret is in it."""
    keys = list(secrets)
    return pulumi.Output.all(*secrets.values()).apply(
        lambda values: [f"{k}={v}" for k, v in plain.items()] + [f"{k}={v}" for k, v in zip(keys, values, strict=False)]
    )


class NodeRedContainers(pulumi.ComponentResource):
    addresses: list[str]  # host:port on the private network, index order
    names: list[str]

    def __init__(self, name: str, args: NodeRedContainersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:docker:NodeRedContainers", name, None, opts)
        if args.role not in ROLES:
            raise ValueError(f"role must be editor or worker, got {args.role!r}")
        if args.environment.get("NODE_RED_ROLE") != args.role:
            raise ValueError(f"environment is for role {args.environment.get('NODE_RED_ROLE')!r}, not {args.role!r}")
        if args.role == "editor" and args.replicas != 1:
            raise ValueError("there is exactly one editor: two would overwrite each other's deploys")
        if args.replicas < 1:
            raise ValueError(f"replicas must be at least 1, got {args.replicas}")

        self.names, self.addresses = [], []
        timings = CONTAINER_HEALTHCHECK
        for index in range(args.replicas):
            if args.role == "editor":
                container_name, ip, child = f"{args.prefix}-editor", args.network.editor_ip, f"{name}"
            else:
                container_name, ip, child = (
                    f"{args.prefix}-worker-{index}",
                    args.network.worker_ip(index),
                    f"{name}-{index}",
                )
            # The status record of each instance is named after its container.
            plain = {**args.environment, "NODE_RED_INSTANCE_ID": container_name}
            # Annotated: with no expected type mypy cannot solve Output.secret's Input[U] for an Output.
            envs: pulumi.Output[list[str]] = pulumi.Output.secret(
                as_env_list(plain, {**role_secrets(args.role, args.secrets), **args.flow_secrets})
            )
            docker.Container(
                child,
                name=container_name,
                hostname=container_name,
                image=args.image,
                envs=envs,
                networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network.name, ipv4_address=ip)],
                restart="unless-stopped",
                # The image's own HEALTHCHECK, timings included (contract.json health.container); Docker
                # probes every second during the start period, so a started instance is healthy at once.
                healthcheck=docker.ContainerHealthcheckArgs(
                    tests=healthcheck_command("readiness"),
                    interval=duration(timings.interval_seconds),
                    timeout=duration(timings.timeout_seconds),
                    start_period=duration(timings.start_period_seconds),
                    start_interval=duration(1),
                    retries=timings.retries,
                ),
                # Graceful stop: Node-RED closes flows and its MongoDB connections on SIGTERM.
                stop_signal="SIGTERM",
                stop_timeout=STOP_SECONDS,
                destroy_grace_seconds=STOP_SECONDS,
                # `pulumi up` returns once every instance serves the newest flows (/healthz), not before;
                # a new worker counts as created only then, so the router's config lists it only then.
                wait=True,
                wait_timeout=HEALTHY_WITHIN_SECONDS,
                log_driver=LOG_DRIVER,
                log_opts=LOG_OPTS,
                # Fixed name and address: the old container must go before its replacement starts.
                opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on, delete_before_replace=True),
            )
            self.names.append(container_name)
            self.addresses.append(f"{ip}:{PORT}")
        self.register_outputs({"names": self.names, "addresses": self.addresses})
