"""docker target: the nginx router, its config rendered by nginx/render.py from the worker addresses."""

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from nginx.render import CONTAINER_CONFIG_PATH, HEALTH_PATH, render
from nodered_contract import BODY_LIMIT_MB

from .container_settings import LOG_DRIVER, LOG_OPTS
from .private_network import PrivateNetwork

LISTEN_PORT = 8080  # inside the container; router.port is published to it
# nginx's image stops with SIGQUIT: it finishes the requests in flight first.
STOP_SECONDS = 15


@dataclass
class RouterArgs:
    image: str
    network: PrivateNetwork
    container_name: str
    workers: list[str]  # host:port of every worker
    editor: str
    http_node_root: str
    host_port: int
    body_limit_mb: int = BODY_LIMIT_MB  # the instances get the same limit
    bind_address: str = "127.0.0.1"  # host address host_port is published on


class Router(pulumi.ComponentResource):
    config_text: str  # the rendered nginx.conf: a new one replaces the container

    def __init__(self, name: str, args: RouterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:docker:Router", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.config_text = render(
            args.workers,
            args.editor,
            args.http_node_root,
            listen_port=LISTEN_PORT,
            body_limit_mb=args.body_limit_mb,
        )
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=child)
        docker.Container(
            f"{name}-container",
            name=args.container_name,
            image=image.image_id,
            uploads=[docker.ContainerUploadArgs(file=CONTAINER_CONFIG_PATH, content=self.config_text)],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=args.network.name, ipv4_address=args.network.router_ip)
            ],
            ports=[docker.ContainerPortArgs(internal=LISTEN_PORT, external=args.host_port, ip=args.bind_address)],
            restart="unless-stopped",
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{LISTEN_PORT}{HEALTH_PATH}"],
                interval="10s",
                timeout="3s",
                retries=3,
            ),
            wait=True,
            wait_timeout=60,
            log_driver=LOG_DRIVER,
            log_opts=LOG_OPTS,
            stop_timeout=STOP_SECONDS,
            destroy_grace_seconds=STOP_SECONDS,
            # Fixed name, address and host port: a new config replaces the container delete-first.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        self.register_outputs({"config": self.config_text})
