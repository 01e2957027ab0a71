"""docker target: the whole stack on the local Docker engine."""

from dataclasses import dataclass

import pulumi
from pydantic import SecretStr

from stack_config import StackConfig

from ..image import NodeRedImage, NodeRedImageArgs
from ..nodered_environment import flow_secret_values, plain_environment, secret_values
from ..secrets import StackSecrets, StackSecretsArgs
from .mongo_replica_set import MongoReplicaSet, MongoReplicaSetArgs
from .nodered_containers import NodeRedContainers, NodeRedContainersArgs
from .private_network import PrivateNetwork, PrivateNetworkArgs
from .router import Router, RouterArgs


@dataclass
class DockerStackArgs:
    config: StackConfig
    prefix: str  # Docker names (containers, network, volumes): project and stack, so stacks can coexist


class DockerStack(pulumi.ComponentResource):
    editor_url: pulumi.Output[str]
    api_base_url: pulumi.Output[str]
    worker_count: pulumi.Output[int]
    editor_ready: list[pulumi.Resource]

    def __init__(self, name: str, args: DockerStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:docker:DockerStack", name, None, opts)
        config = args.config
        if config.target != "docker":
            raise ValueError(f"DockerStack deploys target docker, config says {config.target!r}")
        child = pulumi.ResourceOptions(parent=self)

        secrets = StackSecrets(f"{name}-secrets", StackSecretsArgs(config=config), opts=child)
        network = PrivateNetwork(
            f"{name}-net",
            PrivateNetworkArgs(subnet=config.network.subnet, docker_name=f"{args.prefix}-net"),
            opts=child,
        )
        image = NodeRedImage(f"{name}-nodered", NodeRedImageArgs(config=config.image, platform=None), opts=child)
        mongo = MongoReplicaSet(
            f"{name}-mongo",
            MongoReplicaSetArgs(
                members=config.mongo.members,
                image=config.mongo.image,
                network=network,
                prefix=args.prefix,
                root_password=_kept(config.mongo_root_password, "mongoRootPassword"),
                app_password=_kept(config.mongo_app_password, "mongoAppPassword"),
                keyfile=_kept(config.mongo_key_file, "mongoKeyFile"),
                publish_port=config.mongo.publish_port,
            ),
            opts=child,
        )
        secret_env = secret_values(config, secrets, mongo.url)
        base = f"http://{config.router.host}:{config.router.port}"

        def instances(role: str, replicas: int) -> NodeRedContainers:
            # No NODE_RED_KEEPALIVE_SECONDS: nginx closes its idle upstream connections after 4 s
            # (keepalive_timeout), before any keep-alive the image accepts (at least 5 s, default 65 s).
            # Only a balancer that keeps them longer needs it set (the aws target's ALB).
            # The router is the only proxy in front: the instances read the client address it saw
            # from its X-Forwarded-For, and nobody else's.
            environment = plain_environment(
                config, role, database=mongo.database, trusted_proxies=[network.router_ip], editor_url=f"{base}/"
            )
            return NodeRedContainers(
                f"{name}-{role}",
                NodeRedContainersArgs(
                    role=role,
                    replicas=replicas,
                    image=image.image_ref,
                    network=network,
                    prefix=args.prefix,
                    environment=environment,
                    secrets=secret_env,
                    depends_on=mongo.containers,
                    flow_secrets=flow_secret_values(config),
                ),
                opts=child,
            )

        editor = instances("editor", 1)
        workers = instances("worker", config.workers.replicas)
        router = Router(
            f"{name}-router",
            RouterArgs(
                image=config.router.image,
                network=network,
                container_name=f"{args.prefix}-router",
                workers=workers.addresses,
                editor=editor.addresses[0],
                http_node_root=config.http_node_root,
                host_port=config.router.port,
                body_limit_mb=config.body_limit_mb,
                rate_limit=config.http.rate_limit,
                bind_address=config.router.bind_address,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[editor, workers]),
        )

        self.editor_url = pulumi.Output.from_input(f"{base}/")
        self.api_base_url = pulumi.Output.from_input(f"{base}{config.http_node_root}")
        self.worker_count = pulumi.Output.from_input(config.workers.replicas)
        # The router is created after the editor and the workers are healthy, and is done once it serves.
        self.editor_ready = [router]
        self.register_outputs(
            {"editorUrl": self.editor_url, "apiBaseUrl": self.api_base_url, "workerCount": self.worker_count}
        )


def _kept(value: SecretStr | None, key: str) -> pulumi.Output[str]:
    """A secret the docker target keeps in the stack config (stack_config requires it on this target)."""
    if value is None:
        raise ValueError(f"{key}: the docker target needs it in the stack config")
    return pulumi.Output.secret(value.get_secret_value())
