"""Amazon DocumentDB: a TLS-only cluster with change streams retained, reachable from the tasks only."""

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from stack_config.aws import DocumentDbConfig

MASTER_USER = "nodered"
PARAMETER_FAMILY = "docdb5.0"


@dataclass
class DocumentDbArgs:
    config: DocumentDbConfig
    instance_class: str
    instances: int
    subnet_ids: pulumi.Input[list[str]]
    security_group_id: pulumi.Input[str]

    def __post_init__(self) -> None:
        if self.instances < 1:
            raise ValueError("instances: at least 1")


def connection_url(endpoint: str, port: int, password: str) -> str:
    # TLS on (the CA bundle comes from MONGO_TLS_CA_FILE); reads from the primary so the storage module
    # sees its own writes; DocumentDB has no retryable writes.
    return (
        f"mongodb://{MASTER_USER}:{quote(password, safe='')}@{endpoint}:{port}/"
        "?tls=true&replicaSet=rs0&readPreference=primary&retryWrites=false"
    )


class DocumentDb(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    # Full connection string with credentials: a Pulumi secret.
    url: pulumi.Output[str]

    def __init__(self, name: str, args: DocumentDbArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:aws:DocumentDb", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        # DocumentDB refuses '/', '"' and '@' in passwords: letters and digits only (also URL-safe).
        password = random.RandomPassword(f"{name}-master-password", length=40, special=False, opts=child)
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
            opts=child,
        )
        for i in range(args.instances):
            aws.docdb.ClusterInstance(
                f"{name}-{i}",
                cluster_identifier=cluster.id,
                engine="docdb",
                instance_class=args.instance_class,
                auto_minor_version_upgrade=True,
                promotion_tier=i,
                opts=pulumi.ResourceOptions(parent=cluster),
            )
        self.endpoint = cluster.endpoint
        self.url = pulumi.Output.secret(
            pulumi.Output.all(cluster.endpoint, cluster.port, password.result).apply(
                lambda a: connection_url(a[0], a[1] or 27017, a[2])
            )
        )
        self.register_outputs({"endpoint": self.endpoint})
