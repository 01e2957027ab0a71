"""The whole aws target: image in ECR, VPC, security groups, database, secrets, load balancer, and the
editor and worker services on ECS Fargate."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from nodered_contract import (
    DATABASE,
    DB_SETUP_DEADLINE_SECONDS,
    DB_SETUP_SCRIPT,
    DB_SETUP_SECRETS,
    DOCUMENTDB_CA_FILE,
    db_setup_environment,
    role_secrets,
)
from stack_config import StackConfig
from stack_config.aws import AwsConfig

from ..nodered_environment import flow_secret_values, plain_environment, secret_values
from ..secrets import StackSecrets, StackSecretsArgs
from . import container
from .autoscaling import ServiceAutoscaling, ServiceAutoscalingArgs
from .documentdb import DocumentDb, DocumentDbArgs
from .fargate_service import FargateService, FargateServiceArgs
from .flow_secrets import FlowSecrets, FlowSecretsArgs
from .load_balancer import LoadBalancer, LoadBalancerArgs
from .network import AwsNetwork, AwsNetworkArgs
from .registry import EcrImage, EcrImageArgs
from .runtime_secrets import RuntimeSecrets, RuntimeSecretsArgs
from .security_groups import SecurityGroups, SecurityGroupsArgs


@dataclass
class AwsStackArgs:
    config: StackConfig

    def __post_init__(self) -> None:
        if self.config.target != "aws" or self.config.aws is None:
            raise ValueError("config: the aws stack needs target: aws")

    @property
    def aws(self) -> AwsConfig:
        """The config's aws object (target aws always has one, defaults included)."""
        if self.config.aws is None:
            raise ValueError("config: the aws stack needs target: aws")
        return self.config.aws


class AwsStack(pulumi.ComponentResource):
    editor_url: pulumi.Output[str]
    api_base_url: pulumi.Output[str]
    worker_count: pulumi.Output[int]
    load_balancer_dns_name: pulumi.Output[str]
    image_ref: pulumi.Output[str]
    # The DocumentDB snapshot `pulumi destroy` leaves (docs/operations.md, "Restore from a snapshot"); None when
    # no final snapshot is taken (external MongoDB, skipFinalSnapshot).
    final_snapshot_identifier: pulumi.Output[str] | None
    editor_ready: list[pulumi.Resource]

    def __init__(self, name: str, args: AwsStackArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:aws:AwsStack", name, None, opts)
        config, aws_config = args.config, args.aws
        prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}"

        # One provider for every child: the configured region and tags that say which stack owns what.
        provider = aws.Provider(
            f"{name}-aws",
            region=aws_config.region or pulumi.Config("aws").get("region"),
            default_tags=aws.ProviderDefaultTagsArgs(
                tags={"project": pulumi.get_project(), "stack": pulumi.get_stack()}
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, providers={"aws": provider})
        region = (
            pulumi.Output.from_input(aws_config.region)
            if aws_config.region
            else aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self, provider=provider)).region
        )

        image = EcrImage(f"{name}-image", EcrImageArgs(config=config.image), opts=child)
        network = AwsNetwork(f"{name}-network", AwsNetworkArgs(config=aws_config, region=region), opts=child)
        documentdb_mode = config.mongo.mode == "documentdb"
        groups = SecurityGroups(
            f"{name}-sg",
            SecurityGroupsArgs(
                vpc_id=network.vpc_id,
                allowed_cidrs=aws_config.allowed_cidrs,
                listener_ports=[80, 443] if aws_config.https else [80],
                database=documentdb_mode,
            ),
            opts=child,
        )

        setup: container.SetupStep | None = None
        admin_url: dict[str, pulumi.Input[str]] = {}
        self.final_snapshot_identifier = None
        if documentdb_mode:
            if groups.database_id is None:
                raise ValueError("SecurityGroups made no database group with database=True")
            database = DocumentDb(
                f"{name}-docdb",
                DocumentDbArgs(
                    config=aws_config.documentdb,
                    instance_class=config.mongo.instance_class,
                    instances=config.mongo.instances,
                    subnet_ids=network.private_subnet_ids,
                    security_group_id=groups.database_id,
                    database=DATABASE,
                ),
                opts=child,
            )
            mongo_url = database.url
            self.final_snapshot_identifier = database.final_snapshot_identifier
            # The editor's task sets up the app user (and change streams) with the master login first.
            admin_url = {"MONGO_ADMIN_URL": database.admin_url}
            setup = container.SetupStep(
                name="db-setup",
                command=["node", DB_SETUP_SCRIPT],
                environment=db_setup_environment(database=DATABASE, tls_ca_file=DOCUMENTDB_CA_FILE),
                secret_names=DB_SETUP_SECRETS,
                deadline_seconds=DB_SETUP_DEADLINE_SECONDS,
            )
        else:
            if config.mongo_uri is None:  # the stack config requires it in external mode
                raise ValueError("mongoUri: required when mongo.mode is external")
            mongo_url = pulumi.Output.secret(config.mongo_uri.get_secret_value())

        stack_secrets = StackSecrets(f"{name}-secrets", StackSecretsArgs(config=config), opts=child)
        secrets = RuntimeSecrets(
            f"{name}-runtime",
            RuntimeSecretsArgs(
                values={
                    **{n: v for n, v in secret_values(config, stack_secrets, mongo_url).items() if v is not None},
                    **admin_url,
                }
            ),
            opts=child,
        )

        lb = LoadBalancer(
            f"{name}-lb",
            LoadBalancerArgs(
                vpc_id=network.vpc_id,
                subnet_ids=network.public_subnet_ids,
                security_group_id=groups.load_balancer_id,
                http_node_root=config.http_node_root,
                idle_timeout_seconds=aws_config.idle_timeout_seconds,
                certificate_arn=aws_config.certificate_arn,
                editor_allowed_cidrs=aws_config.editor_allowed_cidrs,
            ),
            opts=child,
        )
        cluster = aws.ecs.Cluster(f"{name}-cluster", opts=child)

        references = {n: (secrets.arns[n], secrets.value_from[n]) for n in secrets.arns}
        # The flows' own secrets, for every role (none: no secret at all).
        flow_references: dict[str, tuple[pulumi.Output[str], pulumi.Output[str]]] = {}
        if config.flow_secrets:
            flow_secrets = FlowSecrets(
                f"{name}-flow-secrets", FlowSecretsArgs(values=flow_secret_values(config)), opts=child
            )
            flow_references = {n: (flow_secrets.arn, flow_secrets.value_from[n]) for n in flow_secrets.value_from}
        target_environment = container.target_environment(documentdb_mode, aws_config.idle_timeout_seconds)
        # The URL single sign-on redirects below (stack config: editor.oidc needs aws.domainName).
        editor_url = (
            f"{'https' if aws_config.https else 'http'}://{aws_config.domain_name}/" if aws_config.domain_name else None
        )

        def service(suffix: str, role: str, sizing, **kwargs) -> FargateService:
            return FargateService(
                f"{name}-{suffix}",
                FargateServiceArgs(
                    role=role,
                    family=f"{prefix}-{suffix}",
                    cluster_arn=cluster.arn,
                    image_ref=image.image_ref,
                    repository_arn=image.repository_arn,
                    cpu=sizing.cpu,
                    memory=sizing.memory,
                    # No router in front applies http.rateLimit: each instance does (per instance).
                    environment=plain_environment(
                        config, role, rate_limit_at_instances=True, editor_url=editor_url, **target_environment
                    ),
                    # Each role's own secrets: the workers' execution role cannot read the editor password.
                    secrets={**role_secrets(role, references), **flow_references},
                    subnet_ids=network.task_subnet_ids,
                    security_group_id=groups.tasks_id,
                    assign_public_ip=network.assign_public_ip,
                    log_retention_days=aws_config.log_retention_days,
                    region=region,
                    depends_on=lb.listeners,
                    **kwargs,
                ),
                opts=child,
            )

        # Never two editors: stop the old task before starting the new one (a short editor outage on deploy).
        editor = service(
            "editor",
            "editor",
            config.editor,
            desired_count=1,
            maximum_percent=100,
            minimum_healthy_percent=0,
            target_group_arn=lb.editor_target_group_arn,
            setup=setup,
            setup_secrets={n: references[n] for n in setup.secret_names} if setup else {},
        )
        # Workers roll with full capacity kept; workers.replicas is the first count, autoscaling owns it after.
        workers = service(
            "workers",
            "worker",
            config.workers,
            desired_count=config.workers.replicas,
            maximum_percent=200,
            minimum_healthy_percent=100,
            target_group_arn=lb.workers_target_group_arn,
            autoscaled=True,
        )
        scaling = config.workers.autoscaling
        ServiceAutoscaling(
            f"{name}-workers-scaling",
            ServiceAutoscalingArgs(
                cluster_name=cluster.name,
                service_name=workers.service_name,
                min=scaling.min,
                max=scaling.max,
                target_cpu_percent=scaling.target_cpu_percent,
                requests_per_target=scaling.requests_per_target,
                request_resource_label=lb.workers_resource_label if scaling.requests_per_target else None,
                depends_on=lb.listeners,
            ),
            opts=child,
        )

        host = pulumi.Output.from_input(aws_config.domain_name) if aws_config.domain_name else lb.dns_name
        base = pulumi.Output.concat(lb.scheme, "://", host)
        self.editor_url = pulumi.Output.concat(base, "/")
        self.api_base_url = pulumi.Output.concat(base, config.http_node_root)
        self.worker_count = pulumi.Output.from_input(config.workers.replicas)
        self.load_balancer_dns_name = lb.dns_name
        self.image_ref = image.image_ref
        # Both services reach steady state (their tasks healthy behind the load balancer) before `up` goes on.
        self.editor_ready = [editor, workers]
        self.register_outputs(
            {
                "editorUrl": self.editor_url,
                "apiBaseUrl": self.api_base_url,
                "workerCount": self.worker_count,
                "loadBalancerDnsName": self.load_balancer_dns_name,
                "imageRef": self.image_ref,
                "finalSnapshotIdentifier": self.final_snapshot_identifier,
            }
        )
