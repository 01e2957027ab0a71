"""One Node-RED role on ECS Fargate: its log group, execution role, task definition and service."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from nodered_contract import PORT

from . import container

# What ECS needs of the task execution role to start a task, each on the one resource it concerns: pull the
# image from the stack's repository (a registry token has no resource of its own: `*` is the only one AWS
# accepts for it) and write to the service's own log group. AWS's managed AmazonECSTaskExecutionRolePolicy
# grants the same actions on every repository and log group of the account.
_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
_LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]


def pull_and_log_policy(repository_arn: str, log_group_arn: str) -> str:
    """The execution role's policy for the image pull and the logs (see above), as JSON."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                {"Effect": "Allow", "Action": _PULL_ACTIONS, "Resource": repository_arn},
                # The group itself (CreateLogStream) and its streams (PutLogEvents).
                {"Effect": "Allow", "Action": _LOG_ACTIONS, "Resource": [log_group_arn, f"{log_group_arn}:*"]},
            ],
        }
    )


# From a task's start until Node-RED's own health checks count: it waits for MongoDB and loads the flows before a
# worker's /healthz (its target group's check) turns 200.
NODE_RED_START_SECONDS = 120


def grace_period_seconds(setup: container.SetupStep | None) -> int:
    """The service's health check grace period: how long ECS ignores the load balancer's and the container's
    health checks after a task "has first started" (the ECS API reference). Its task-level startedAt is the task's
    move from PENDING to RUNNING, and the documentation does not say whether a task whose essential container is
    still waiting for a setup container (dependsOn SUCCESS) counts as started: so a task with a setup step gets
    the setup's whole run (it ends by its deadline, nodered_contract.DB_SETUP_DEADLINE_SECONDS) on top of Node-RED's
    own start, and is not replaced while a slow setup runs whichever way ECS counts."""
    return NODE_RED_START_SECONDS + (setup.deadline_seconds if setup is not None else 0)


@dataclass
class FargateServiceArgs:
    role: str  # "editor" | "worker"
    family: str  # task definition family, unique per stack
    cluster_arn: pulumi.Input[str]
    image_ref: pulumi.Input[str]
    repository_arn: pulumi.Input[str]  # the ECR repository image_ref is in: the only one the tasks pull from
    cpu: int
    memory: int
    environment: Mapping[str, str]
    # environment variable -> (secret ARN, valueFrom); several variables may come from one secret's JSON keys
    secrets: Mapping[str, tuple[pulumi.Input[str], pulumi.Input[str]]]
    desired_count: int
    subnet_ids: pulumi.Input[list[str]]
    security_group_id: pulumi.Input[str]
    assign_public_ip: bool
    target_group_arn: pulumi.Input[str]
    log_retention_days: int
    region: pulumi.Input[str]
    # Rolling update bounds, in percent of desired_count.
    maximum_percent: int = 200
    minimum_healthy_percent: int = 100
    # Resources the service must wait for (the listener using its target group).
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)
    # Autoscaling owns the task count once the service exists: desired_count is only the first one, or an
    # `up` during a scale-out would drop the service back to it.
    autoscaled: bool = False
    # A container run to completion before Node-RED in each task, and its secrets (variable -> (ARN, valueFrom)).
    setup: container.SetupStep | None = None
    setup_secrets: Mapping[str, tuple[pulumi.Input[str], pulumi.Input[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.role not in ("editor", "worker"):
            raise ValueError(f"role: 'editor' or 'worker', not {self.role!r}")
        if self.desired_count < (0 if self.role == "worker" else 1):
            raise ValueError(f"desired_count: {self.desired_count} is too low for the {self.role}")
        if self.role == "editor" and (self.desired_count != 1 or self.maximum_percent > 100):
            # Two editors would both write flows: never more than one, also during a deployment.
            raise ValueError("the editor runs exactly one task (desired_count 1, maximum_percent at most 100)")
        if not 0 <= self.minimum_healthy_percent <= 100 <= self.maximum_percent:
            raise ValueError("minimum_healthy_percent must be 0..100 and maximum_percent at least 100")
        for name in ("NODE_RED_ROLE", "PORT"):
            if name not in self.environment:
                raise ValueError(f"environment: {name} is missing")
        if "MONGO_URL" not in self.secrets or "NODE_RED_CREDENTIAL_SECRET" not in self.secrets:
            raise ValueError("secrets: MONGO_URL and NODE_RED_CREDENTIAL_SECRET come from Secrets Manager")
        wanted = set(self.setup.secret_names) if self.setup else set()
        if set(self.setup_secrets) != wanted:
            raise ValueError(f"setup_secrets: {sorted(self.setup_secrets)} given, the setup needs {sorted(wanted)}")


class FargateService(pulumi.ComponentResource):
    service_name: pulumi.Output[str]
    task_definition_arn: pulumi.Output[str]

    def __init__(self, name: str, args: FargateServiceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:aws:FargateService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        logs = aws.cloudwatch.LogGroup(f"{name}-logs", retention_in_days=args.log_retention_days, opts=child)

        role = aws.iam.Role(
            f"{name}-execution",
            description=f"nodered-scale {args.role}: pull the image, write logs, read its secrets",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=child,
        )
        # ECR pulls and log writes: the service waits for it, or its first tasks fail to start.
        pull_and_log = aws.iam.RolePolicy(
            f"{name}-pull-and-log",
            role=role.name,
            policy=pulumi.Output.all(args.repository_arn, logs.arn).apply(lambda a: pull_and_log_policy(a[0], a[1])),
            opts=pulumi.ResourceOptions(parent=role),
        )
        secret_arns = [arn for arn, _ in [*args.secrets.values(), *args.setup_secrets.values()]]
        # Exactly this role's secrets (the workers' role cannot read the editor password).
        read_secrets = aws.iam.RolePolicy(
            f"{name}-secrets",
            role=role.name,
            policy=pulumi.Output.all(*secret_arns).apply(
                lambda arns: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "secretsmanager:GetSecretValue",
                                "Resource": sorted(set(arns)),
                            }
                        ],
                    }
                )
            ),
            opts=pulumi.ResourceOptions(parent=role),
        )

        variables, setup_variables = list(args.secrets), list(args.setup_secrets)
        definitions = pulumi.Output.all(
            args.image_ref,
            logs.name,
            args.region,
            *[value_from for _, value_from in args.secrets.values()],
            *[value_from for _, value_from in args.setup_secrets.values()],
        ).apply(
            lambda a: container.definition(
                name=args.role,
                image=a[0],
                environment=args.environment,
                secrets=dict(zip(variables, a[3 : 3 + len(variables)], strict=True)),
                log_group=a[1],
                region=a[2],
                setup=args.setup,
                setup_secrets=dict(zip(setup_variables, a[3 + len(variables) :], strict=True)),
            )
        )
        task = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=args.family,
            cpu=str(args.cpu),
            memory=str(args.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            # The image is built for linux/amd64.
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture="X86_64"
            ),
            execution_role_arn=role.arn,
            container_definitions=definitions,
            opts=child,
        )
        service = aws.ecs.Service(
            f"{name}-service",
            cluster=args.cluster_arn,
            task_definition=task.arn,
            desired_count=args.desired_count,
            launch_type="FARGATE",
            platform_version="LATEST",
            deployment_maximum_percent=args.maximum_percent,
            deployment_minimum_healthy_percent=args.minimum_healthy_percent,
            # A deployment whose tasks never turn healthy stops and rolls back to the last good one.
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            # Node-RED loads its flows from MongoDB before a worker's /healthz (its target group's check) turns 200;
            # the editor's task runs its setup container first (grace_period_seconds).
            health_check_grace_period_seconds=grace_period_seconds(args.setup),
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.subnet_ids,
                security_groups=[args.security_group_id],
                assign_public_ip=args.assign_public_ip,
            ),
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=args.target_group_arn, container_name=args.role, container_port=PORT
                )
            ],
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            # `pulumi up` succeeds only once the deployment reached steady state (tasks healthy in the target
            # group), and fails when the circuit breaker rolled it back.
            wait_for_steady_state=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[read_secrets, pull_and_log, *args.depends_on],
                ignore_changes=["desiredCount"] if args.autoscaled else None,
            ),
        )
        self.service_name = service.name
        self.task_definition_arn = task.arn
        self.register_outputs({"serviceName": self.service_name, "taskDefinitionArn": self.task_definition_arn})
