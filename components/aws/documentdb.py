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
        cluster = aws.docdb.Cluster(
            f"{name}-cluster",
            engine="docdb",
            engine_version=config.engine_version,
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
            # No `up` may replace it (a new, empty cluster behind MONGO_URL: the flows gone from the app), and
            # `destroy` stops at it, while deletion protection is on; deletionProtection: false lifts both.
            opts=pulumi.ResourceOptions(parent=self, protect=config.deletion_protection),
        )
        self.instances = []
        for i in range(args.instances):
            instance = aws.docdb.ClusterInstance(
                f"{name}-{i}",
                cluster_identifier=cluster.id,
                engine="docdb",
                instance_class=args.instance_class,
                auto_minor_version_upgrade=True,
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
        self.register_outputs({"endpoint": self.endpoint})
