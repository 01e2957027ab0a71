"""Amazon DocumentDB: a TLS-only cluster with change streams retained, reachable from the tasks only."""

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from nodered_contract import DATABASE
from stack_config.aws import DocumentDbConfig

MASTER_USER = "nodered"
# The user Node-RED logs in as: readWrite on its database only, set up by the editor task's first container
# (storage/db_setup.js) with the master login, which no Node-RED process ever gets.
APP_USER = "noderedapp"
PARAMETER_FAMILY = "docdb5.0"


@dataclass
class DocumentDbArgs:
    config: DocumentDbConfig
    instance_class: str
    instances: int
    subnet_ids: pulumi.Input[list[str]]
    security_group_id: pulumi.Input[str]
    database: str = DATABASE  # what the app user may read and write

    def __post_init__(self) -> None:
        if self.instances < 1:
            raise ValueError("instances: at least 1")


def connection_url(endpoint: str, port: int, user: str, password: str) -> str:
    # TLS on (the CA bundle comes from MONGO_TLS_CA_FILE); reads from the primary so the storage module
    # sees its own writes; DocumentDB has no retryable writes. Users live in `admin`.
    return (
        f"mongodb://{quote(user, safe='')}:{quote(password, safe='')}@{endpoint}:{port}/"
        "?tls=true&replicaSet=rs0&readPreference=primary&retryWrites=false&authSource=admin"
    )


class DocumentDb(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    # The snapshot `pulumi destroy` leaves (None with skipFinalSnapshot): what a restore names.
    final_snapshot_identifier: pulumi.Output[str] | None
    # Connection strings with credentials, Pulumi secrets, known only once every instance exists (the
    # cluster endpoint exists minutes before any instance answers on it): the app user's, and the master's.
    url: pulumi.Output[str]
    admin_url: pulumi.Output[str]
    instances: list[aws.docdb.ClusterInstance]

    def __init__(self, name: str, args: DocumentDbArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:aws:DocumentDb", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        # DocumentDB refuses '/', '"' and '@' in passwords: letters and digits only (also URL-safe).
        password = random.RandomPassword(f"{name}-master-password", length=40, special=False, opts=child)
        # Set on the cluster by db_setup.js at each editor start: a new one needs no other step.
        app_password = random.RandomPassword(f"{name}-app-password", length=40, special=False, opts=child)
        subnets = aws.docdb.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            description="nodered-scale DocumentDB: private subnets",
            opts=child,
        )
        parameters = aws.docdb.ClusterParameterGroup(
            f"{name}-params",
            family=PARAMETER_FAMILY,
            description="nodered-scale: TLS required, change streams retained",
            parameters=[
                aws.docdb.ClusterParameterGroupParameterArgs(
                    name="tls", value="enabled", apply_method="pending-reboot"
                ),
                aws.docdb.ClusterParameterGroupParameterArgs(
                    name="change_stream_log_retention_duration",
                    value=str(config.change_stream_retention_hours * 3600),
                    apply_method="immediate",
                ),
            ],
            opts=child,
        )
        final_snapshot = None
        if not config.skip_final_snapshot:
            # Unique per stack and stable across `up`s, so a destroy never collides with an older snapshot.
            suffix = random.RandomId(f"{name}-final-snapshot", byte_length=4, opts=child)
            final_snapshot = pulumi.Output.concat(name, "-final-", suffix.hex)
        self.final_snapshot_identifier = final_snapshot
        cluster = aws.docdb.Cluster(
            f"{name}-cluster",
            engine="docdb",
            engine_version=config.engine_version,
            # A restore (docs/operations.md): the cluster is created from the snapshot, with its data, its users
            # and its flows' credentials (the credential key is in the stack config); the provider then sets this
            # master password, and the editor task's db-setup resets the app user's.
            snapshot_identifier=config.snapshot_identifier,
            master_username=MASTER_USER,
            master_password=password.result,
            db_subnet_group_name=subnets.name,
            db_cluster_parameter_group_name=parameters.name,
            vpc_security_group_ids=[args.security_group_id],
            storage_encrypted=True,
            backup_retention_period=config.backup_retention_days,
            preferred_backup_window="02:00-03:00",
            preferred_maintenance_window="sun:03:30-sun:04:30",
            deletion_protection=config.deletion_protection,
            skip_final_snapshot=config.skip_final_snapshot,
            final_snapshot_identifier=final_snapshot,
            # A change (parameter group, backup retention, ...) takes effect during this `up`, not in the next
            # maintenance window, when applyImmediately (the default) says so.
            apply_immediately=config.apply_immediately,
            # No `up` may replace it (a new, empty cluster behind MONGO_URL: the flows gone from the app), and
            # `destroy` stops at it, while deletion protection is on; deletionProtection: false lifts both. The
            # snapshot is read when the cluster is created only: setting or changing it later replaces nothing.
            opts=pulumi.ResourceOptions(
                parent=self, protect=config.deletion_protection, ignore_changes=["snapshotIdentifier"]
            ),
        )
        self.instances = []
        for i in range(args.instances):
            instance = aws.docdb.ClusterInstance(
                f"{name}-{i}",
                cluster_identifier=cluster.id,
                engine="docdb",
                instance_class=args.instance_class,
                # A new instance class during this `up` (a restart of this instance: a failover of a few
                # seconds when it is the primary), not in the next maintenance window.
                apply_immediately=config.apply_immediately,
                promotion_tier=i,
                opts=pulumi.ResourceOptions(parent=cluster),
            )
            self.instances.append(instance)
        self.endpoint = cluster.endpoint
        ready = [instance.id for instance in self.instances]

        def url(user: str, secret: pulumi.Output[str]) -> pulumi.Output[str]:
            # The instances' ids are in the Output only so everything using the URL waits for them.
            return pulumi.Output.secret(
                pulumi.Output.all(cluster.endpoint, cluster.port, secret, *ready).apply(
                    lambda a: connection_url(a[0], a[1] or 27017, user, a[2])
                )
            )

        self.url = url(APP_USER, app_password.result)
        self.admin_url = url(MASTER_USER, password.result)
        self.register_outputs({"endpoint": self.endpoint, "finalSnapshotIdentifier": self.final_snapshot_identifier})
