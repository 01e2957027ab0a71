"""docker target: the nginx router, its config rendered by nginx/render.py from the worker addresses.

Scaling must not replace the router (every client would lose its connection), so the config is not
part of the router container's definition (uploads force a new container): it lives on a volume. A
short-lived config writer container, replaced whenever the config changes, checks the new config with
`nginx -t`, installs it there and waits until the router serves it (nginx/install-config.sh); the router
runs nginx/reload-on-change.sh beside nginx, which reloads nginx gracefully when the file changes. The
local stack's LocalRouter runs the same two scripts.
"""

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from nginx.delivery import CONFIG_NAME, INSTALLER, WATCHER
from nginx.render import HEALTH_PATH, render
from nodered_contract import BODY_LIMIT_MB
from stack_config.http import RateLimitConfig

from .container_settings import LOG_DRIVER, LOG_OPTS, duration
from .private_network import PrivateNetwork

LISTEN_PORT = 8080  # inside the container; router.port is published to it
# nginx's image stops with SIGQUIT: it finishes the requests in flight first.
STOP_SECONDS = 15
CONFIG_DIR = "/etc/nginx/router"  # the config volume, in the router and in the config writer
CONFIG_PATH = f"{CONFIG_DIR}/{CONFIG_NAME}"
STAGED_PATH = "/tmp/nginx.conf"  # the writer's copy of the new config
WATCHER_PATH = "/usr/local/bin/reload-on-change.sh"
INSTALLER_PATH = "/usr/local/bin/install-config.sh"
# Where the official nginx image's nginx writes its pid (its build's --pid-path; the rendered config
# keeps the image's default).
PID_FILE = "/var/run/nginx.pid"


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
    rate_limit: RateLimitConfig | None = None  # per client address on <httpNodeRoot> (stack config http.rateLimit)


def _delivered(values: list) -> None:
    code, logs = values
    if code not in (None, 0):
        raise pulumi.RunError(
            f"the router did not take the new config (its config writer exited with {code}); it keeps serving "
            f"the previous one. The writer's output:\n{logs}"
        )


class Router(pulumi.ComponentResource):
    config_text: str  # the rendered nginx.conf, delivered to the running router

    def __init__(self, name: str, args: RouterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:docker:Router", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.config_text = render(
            args.workers,
            args.editor,
            args.http_node_root,
            listen_port=LISTEN_PORT,
            body_limit_mb=args.body_limit_mb,
            rate_limit=(args.rate_limit.per_second, args.rate_limit.effective_burst) if args.rate_limit else None,
        )
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=child)
        config_volume = docker.Volume(f"{name}-config", name=f"{args.container_name}-config", opts=child)
        mount = [docker.ContainerVolumeArgs(volume_name=config_volume.name, container_path=CONFIG_DIR)]

        # The writer waits for what the router waits for (the Node-RED containers, healthy): a config
        # never names a worker that does not serve yet. A worker left out is deleted at the end of the
        # update, after the writer returned, so it leaves the router's config before it stops.
        writer = docker.Container(
            f"{name}-config-writer",
            name=f"{args.container_name}-config-writer",
            image=image.image_id,
            uploads=[
                docker.ContainerUploadArgs(file=STAGED_PATH, content=self.config_text),
                docker.ContainerUploadArgs(file=INSTALLER_PATH, content=INSTALLER.read_text(), executable=True),
            ],
            volumes=mount,
            command=["sh", INSTALLER_PATH, STAGED_PATH, CONFIG_DIR, "nginx"],
            network_mode="none",
            restart="no",
            must_run=False,  # it runs to completion: exited is its finished state
            attach=True,  # the update waits until it has exited
            logs=True,
            log_driver=LOG_DRIVER,
            log_opts=LOG_OPTS,
            stop_timeout=STOP_SECONDS,
            destroy_grace_seconds=STOP_SECONDS,
            # Fixed name: the previous writer goes before the next one is created.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=opts.depends_on if opts else None, delete_before_replace=True
            ),
        )
        pulumi.Output.all(writer.exit_code, writer.container_logs).apply(_delivered)

        # Nothing below changes with the worker set: scaling leaves this container as it is.
        docker.Container(
            f"{name}-container",
            name=args.container_name,
            image=image.image_id,
            uploads=[docker.ContainerUploadArgs(file=WATCHER_PATH, content=WATCHER.read_text(), executable=True)],
            volumes=mount,
            command=[
                "sh",
                "-c",
                f"sh {WATCHER_PATH} {CONFIG_DIR} {PID_FILE} nginx & exec nginx -c {CONFIG_PATH} -g 'daemon off;'",
            ],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=args.network.name, ipv4_address=args.network.router_ip)
            ],
            ports=[docker.ContainerPortArgs(internal=LISTEN_PORT, external=args.host_port, ip=args.bind_address)],
            restart="unless-stopped",
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{LISTEN_PORT}{HEALTH_PATH}"],
                interval=duration(10),
                timeout=duration(3),
                retries=3,
            ),
            wait=True,
            wait_timeout=60,
            log_driver=LOG_DRIVER,
            log_opts=LOG_OPTS,
            stop_timeout=STOP_SECONDS,
            destroy_grace_seconds=STOP_SECONDS,
            # The first config must be on the volume before nginx starts.
            # Fixed name, address and host port: a replacement (new image) deletes the old container first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[writer], delete_before_replace=True),
        )
        self.register_outputs({"config": self.config_text})
