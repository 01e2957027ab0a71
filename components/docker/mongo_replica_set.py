"""docker target: a MongoDB replica set (change streams need one) with auth, on named volumes."""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pulumi
import pulumi_docker as docker

from nodered_contract import DATABASE

from .container_settings import LOG_DRIVER, LOG_OPTS, duration
from .private_network import PrivateNetwork

SCRIPTS = Path(__file__).resolve().parents[2] / "mongo"
REPLICA_SET = "rs0"
PORT = 27017
ROOT_USER = "root"
APP_USER = "nodered"  # the MongoDB user Node-RED logs in as
# mongod shuts down cleanly on SIGTERM (a primary first hands over to a secondary); give it time.
STOP_SECONDS = 60


@dataclass
class MongoReplicaSetArgs:
    members: int
    image: str
    network: PrivateNetwork
    prefix: str  # Docker names: containers and volumes
    # Kept in the stack config, not generated here: the data volumes outlive the Pulumi state (`make down`),
    # and the users stored in them, and the key file they were set up with, must outlive it too.
    root_password: pulumi.Input[str]
    app_password: pulumi.Input[str]
    keyfile: pulumi.Input[str]  # base64 alphabet, as mongod requires of a key file
    database: str = DATABASE
    publish_port: int | None = None  # member 0 on the host, for debugging only


class MongoReplicaSet(pulumi.ComponentResource):
    # Connection string for Node-RED (app user, every member, replica set name): a secret.
    url: pulumi.Output[str]
    database: str
    containers: list[docker.Container]

    def __init__(self, name: str, args: MongoReplicaSetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:docker:MongoReplicaSet", name, None, opts)
        if args.members not in (1, 3):
            raise ValueError(f"members must be 1 or 3, got {args.members}")
        child = pulumi.ResourceOptions(parent=self)
        self.database = args.database
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=child)

        hosts = [f"{args.prefix}-mongo-{i}" for i in range(args.members)]
        wanted = ",".join(f"{h}:{PORT}" for h in hosts)
        uploads = [
            docker.ContainerUploadArgs(
                file="/usr/local/bin/nodered-scale-mongo-start.sh",
                content=(SCRIPTS / "start.sh").read_text(),
                executable=True,
            ),
            docker.ContainerUploadArgs(
                file="/etc/mongo-replica-set.js", content=(SCRIPTS / "replica_set.js").read_text()
            ),
            docker.ContainerUploadArgs(
                file="/docker-entrypoint-initdb.d/app_user.js", content=(SCRIPTS / "app_user.js").read_text()
            ),
        ]
        health = 'mongosh --quiet --norc -u "$MONGO_INITDB_ROOT_USERNAME" -p "$MONGO_INITDB_ROOT_PASSWORD" --authenticationDatabase admin /etc/mongo-replica-set.js'

        self.containers = []
        # Members 1.. first: member 0 initiates the set and adds them, so they must already run.
        for index in reversed(range(args.members)):
            reconciler = index == 0
            volume = docker.Volume(
                f"{name}-data-{index}",
                name=f"{args.prefix}-mongo-data-{index}",
                # Member 0's data outlives any container replacement and `make down`; deleting it is a deliberate
                # act. Members 1 and 2 hold copies: their volumes go with them (a scale-down to 1 member, `make
                # down`), and a member added again starts empty and copies the data from the primary (initial
                # sync). Kept, it would come back with its old replica set state and an oplog position the
                # primary's oplog may no longer cover: stuck in RECOVERING (docs/operations.md).
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=index == 0),
            )

            def member_env(secrets: list[str], reconciler: bool = reconciler) -> list[str]:
                return [
                    f"MONGO_INITDB_ROOT_USERNAME={ROOT_USER}",
                    f"MONGO_INITDB_ROOT_PASSWORD={secrets[0]}",
                    f"MONGO_APP_USER={APP_USER}",
                    f"MONGO_APP_PASSWORD={secrets[1]}",
                    f"MONGO_APP_DB={args.database}",
                    f"MONGO_KEYFILE_CONTENT={secrets[2]}",
                    f"MONGO_REPLICA_SET={REPLICA_SET}",
                    f"MONGO_RS_MEMBERS={wanted}",
                    f"MONGO_RS_RECONCILER={'true' if reconciler else 'false'}",
                ]

            # Annotated: with no expected type mypy cannot solve Output.secret's Input[U] for an Output.
            envs: pulumi.Output[list[str]] = pulumi.Output.secret(
                pulumi.Output.all(args.root_password, args.app_password, args.keyfile).apply(member_env)
            )
            ports = []
            if reconciler and args.publish_port is not None:
                ports = [docker.ContainerPortArgs(internal=PORT, external=args.publish_port, ip="127.0.0.1")]
            container = docker.Container(
                f"{name}-{index}",
                name=hosts[index],
                hostname=hosts[index],
                image=image.image_id,
                entrypoints=["/usr/local/bin/nodered-scale-mongo-start.sh"],
                envs=envs,
                uploads=uploads,
                volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path="/data/db")],
                networks_advanced=[
                    docker.ContainerNetworksAdvancedArgs(
                        name=args.network.name, ipv4_address=args.network.mongo_ip(index)
                    )
                ],
                ports=ports,
                restart="unless-stopped",
                healthcheck=docker.ContainerHealthcheckArgs(
                    tests=["CMD-SHELL", health],
                    interval=duration(5),
                    timeout=duration(10),
                    start_period=duration(60),
                    start_interval=duration(1),
                    retries=12,
                ),
                # Member 0 is healthy once the set has a primary: Node-RED starts after that.
                wait=reconciler,
                wait_timeout=180,
                log_driver=LOG_DRIVER,
                log_opts=LOG_OPTS,
                stop_timeout=STOP_SECONDS,
                destroy_grace_seconds=STOP_SECONDS,
                # Fixed name and address, and the data volume can be mounted by one mongod only.
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.containers), delete_before_replace=True),
            )
            self.containers.insert(0, container)

        self.url = pulumi.Output.secret(
            pulumi.Output.from_input(args.app_password).apply(
                lambda pw: (
                    f"mongodb://{APP_USER}:{quote(pw, safe='')}@{wanted}/{args.database}"
                    f"?replicaSet={REPLICA_SET}&authSource=admin"
                )
            )
        )
        self.register_outputs({"url": self.url})
