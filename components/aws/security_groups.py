"""Security groups: load balancer from the allowed CIDRs only, tasks only from the load balancer,
the database only from the tasks."""

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from nodered_contract import PORT

MONGO_PORT = 27017


@dataclass
class SecurityGroupsArgs:
    vpc_id: pulumi.Input[str]
    allowed_cidrs: list[str]
    listener_ports: list[int] = field(default_factory=lambda: [80])
    database: bool = True

    def __post_init__(self) -> None:
        if not self.allowed_cidrs:
            raise ValueError("allowed_cidrs: at least one CIDR is needed, or nobody can reach the load balancer")
        if not self.listener_ports:
            raise ValueError("listener_ports: the load balancer needs at least one listener port")


class SecurityGroups(pulumi.ComponentResource):
    load_balancer_id: pulumi.Output[str]
    tasks_id: pulumi.Output[str]
    database_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: SecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:aws:SecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def group(suffix: str, description: str) -> aws.ec2.SecurityGroup:
            # No inline rules: each rule is its own resource below (and the provider drops AWS's
            # default allow-all egress), so what a group lets through is exactly what is listed here.
            return aws.ec2.SecurityGroup(
                f"{name}-{suffix}",
                vpc_id=args.vpc_id,
                description=description,
                tags={"Name": f"{name}-{suffix}"},
                opts=child,
            )

        alb = group("alb", "nodered-scale load balancer: listeners from the allowed CIDRs")
        tasks = group("tasks", "nodered-scale Node-RED tasks: HTTP from the load balancer only")
        for port in args.listener_ports:
            for i, cidr in enumerate(args.allowed_cidrs):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-in-{port}-{i}",
                    security_group_id=alb.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr,
                    description=f"listener {port} from {cidr}",
                    opts=pulumi.ResourceOptions(parent=alb),
                )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-out-tasks",
            security_group_id=alb.id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            referenced_security_group_id=tasks.id,
            description="to the Node-RED tasks",
            opts=pulumi.ResourceOptions(parent=alb),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-tasks-in-alb",
            security_group_id=tasks.id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            referenced_security_group_id=alb.id,
            description="Node-RED from the load balancer",
            opts=pulumi.ResourceOptions(parent=tasks),
        )
        # Tasks reach ECR, Secrets Manager, CloudWatch Logs, the database and whatever the flows call.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-out-all",
            security_group_id=tasks.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="egress for images, secrets, logs, database and flows",
            opts=pulumi.ResourceOptions(parent=tasks),
        )
        self.load_balancer_id = alb.id
        self.tasks_id = tasks.id
        self.database_id = None
        if args.database:
            db = group("db", "nodered-scale DocumentDB: MongoDB protocol from the Node-RED tasks only")
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-db-in-tasks",
                security_group_id=db.id,
                ip_protocol="tcp",
                from_port=MONGO_PORT,
                to_port=MONGO_PORT,
                referenced_security_group_id=tasks.id,
                description="MongoDB protocol from the Node-RED tasks",
                opts=pulumi.ResourceOptions(parent=db),
            )
            self.database_id = db.id
        self.register_outputs(
            {"loadBalancer": self.load_balancer_id, "tasks": self.tasks_id, "database": self.database_id}
        )
