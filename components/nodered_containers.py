"""docker target: Node-RED containers, the editor and the workers (same image, role from the environment)."""
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from .nodered_environment import PORT, NodeRedEnvironment, as_env_list, healthcheck_command
from .private_network import PrivateNetwork


@dataclass
class NodeRedContainersArgs:
    role: str  # "editor" or "worker"
    replicas: int
    image: pulumi.Input[str]
    network: PrivateNetwork
    prefix: str  # Docker container names
    environment: NodeRedEnvironment
    mongo_url: pulumi.Input[str]
    credential_secret: pulumi.Input[str]
    editor_password: pulumi.Input[str]
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class NodeRedContainers(pulumi.ComponentResource):
    addresses: list[str]  # host:port on the private network, index order
    names: list[str]

    def __init__(self, name: str, args: NodeRedContainersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:docker:NodeRedContainers", name, None, opts)
        if args.role not in ("editor", "worker"):
            raise ValueError(f"role must be editor or worker, got {args.role!r}")
        if args.role == "editor" and args.replicas != 1:
            raise ValueError("there is exactly one editor: two would overwrite each other's deploys")
        if args.replicas < 1:
            raise ValueError(f"replicas must be at least 1, got {args.replicas}")

        self.names, self.addresses = [], []
        for index in range(args.replicas):
            if args.role == "editor":
                container_name, ip, child = f"{args.prefix}-editor", args.network.editor_ip, f"{name}"
            else:
                container_name, ip, child = f"{args.prefix}-worker-{index}", args.network.worker_ip(index), f"{name}-{index}"
            secrets = {
                "MONGO_URL": args.mongo_url,
                "NODE_RED_CREDENTIAL_SECRET": args.credential_secret,
            }
            if args.role == "editor":
                secrets["NODE_RED_EDITOR_PASSWORD"] = args.editor_password
            docker.Container(
                child,
                name=container_name,
                hostname=container_name,
                image=args.image,
                envs=pulumi.Output.secret(as_env_list(args.environment.plain(args.role, container_name), secrets)),
                networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network.name, ipv4_address=ip)],
                restart="unless-stopped",
                healthcheck=docker.ContainerHealthcheckArgs(
                    tests=healthcheck_command(), interval="10s", timeout="3s", start_period="60s", start_interval="1s", retries=3
                ),
                # Graceful stop: Node-RED closes flows and its MongoDB connections on SIGTERM.
                stop_signal="SIGTERM",
                stop_timeout=20,
                log_opts={"max-size": "10m", "max-file": "3"},
                # Fixed name and address: the old container must go before its replacement starts.
                opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on, delete_before_replace=True),
            )
            self.names.append(container_name)
            self.addresses.append(f"{ip}:{PORT}")
        self.register_outputs({"names": self.names, "addresses": self.addresses})
