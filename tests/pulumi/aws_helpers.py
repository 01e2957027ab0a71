"""Reading the aws target's resources out of a mock run: the example stack's config, containers, rules."""

import json
from pathlib import Path
from typing import Any

import yaml

from . import aws_mocks  # noqa: F401  (registers the AWS mock answers)
from .mock_program import ROOT, Program, Resource, cached_program

EXAMPLE = ROOT / "examples" / "Pulumi.prod.yaml"
NAMESPACE = "nodered-scale:"
# What a user sets with `pulumi config set --secret` after copying the example, and what `make up` keeps in the
# stack config (python -m stack_secrets): the credential key.
USER_SECRETS = {"editorPassword": "correct-horse-battery", "credentialSecret": "kept-aws-credential-key-0123456789"}
EXTERNAL_URI = "mongodb+srv://app:s3cr3t-atlas-pw@cluster0.example.mongodb.net/?retryWrites=true"
# The example without its certificate, plain HTTP asked for (aws key of run_example's override).
PLAIN_HTTP = {"certificateArn": None, "domainName": None, "allowPlainHttp": True}

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
DOCDB_CLUSTER = "aws:docdb/cluster:Cluster"
DOCDB_INSTANCE = "aws:docdb/clusterInstance:ClusterInstance"
DOCDB_PARAMS = "aws:docdb/clusterParameterGroup:ClusterParameterGroup"
DOCDB_SUBNETS = "aws:docdb/subnetGroup:SubnetGroup"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
DOCKER_IMAGE = "docker:index/image:Image"


def example_config() -> dict[str, Any]:
    """The example stack file's config, namespace stripped, plus the secrets a user would set."""
    document = yaml.safe_load(Path(EXAMPLE).read_text())
    config = {key[len(NAMESPACE) :]: value for key, value in document["config"].items() if key.startswith(NAMESPACE)}
    return {**config, **USER_SECRETS}


def merged(base: dict, override: dict) -> dict:
    """`base` with `override` merged in, objects key by key (as a stack file edit would)."""
    out = dict(base)
    for key, value in override.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def run_example(**override: Any) -> Program:
    """The example stack with `override` merged in, run once per session per config (read-only use)."""
    return cached_program(merged(example_config(), override))


def resource_id(resource: Resource) -> str:
    """The id the mocks give a resource (what other resources' inputs refer to)."""
    return f"{resource.name}-id"


def arn(resource: Resource) -> str:
    return f"arn:aws:mock:us-east-1:123456789012:{resource.name}"


def task_definition(program: Program, role: str) -> Resource:
    [task] = [t for t in program.of_type(TASK_DEFINITION) if container(t)["name"] == role]
    return task


def containers(task: Resource) -> list[dict]:
    return json.loads(task.inputs["containerDefinitions"])


def container(task: Resource) -> dict:
    """The task's Node-RED container (the one it cannot run without)."""
    [definition] = [c for c in containers(task) if c["essential"]]
    return definition


def environment(task: Resource) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(task)["environment"]}


def secret_refs(task: Resource) -> dict[str, str]:
    return {s["name"]: s["valueFrom"] for s in container(task)["secrets"]}


def service(program: Program, role: str) -> Resource:
    task_arn = arn(task_definition(program, role))
    [found] = [s for s in program.of_type(SERVICE) if s.inputs["taskDefinition"] == task_arn]
    return found


def listener_rule(program: Program, suffix: str) -> Resource:
    [found] = [r for r in program.of_type(LISTENER_RULE) if r.name.endswith(f"-{suffix}")]
    return found


def target_group(program: Program, suffix: str) -> Resource:
    [found] = [t for t in program.of_type(TARGET_GROUP) if t.name.endswith(f"-{suffix}")]
    return found


def security_group(program: Program, suffix: str) -> Resource:
    [found] = [g for g in program.of_type(SECURITY_GROUP) if g.name.endswith(f"-{suffix}")]
    return found


def ingress_sources(program: Program, group: Resource) -> list[tuple[int, str]]:
    """(port, source) of every ingress rule of `group`; source is a CIDR or a security group id."""
    return sorted(
        (int(r.inputs["fromPort"]), r.inputs.get("cidrIpv4") or r.inputs.get("referencedSecurityGroupId"))
        for r in program.of_type(INGRESS)
        if r.inputs["securityGroupId"] == resource_id(group)
    )


def secret_values(program: Program) -> dict[str, str]:
    """Secrets Manager secret ARN -> the value stored in it."""
    by_id = {resource_id(s): arn(s) for s in program.of_type(SECRET)}
    return {by_id[v.inputs["secretId"]]: v.inputs["secretString"] for v in program.of_type(SECRET_VERSION)}


def execution_policy(program: Program, task: Resource, purpose: str) -> dict:
    """The policy document of `task`'s execution role for `purpose`: "secrets" (what it may read from Secrets
    Manager) or "pull-and-log" (its image and its log group)."""
    role_name = task.inputs["executionRoleArn"].rsplit(":", 1)[1]
    [policy] = [
        p for p in program.of_type(ROLE_POLICY) if p.inputs["role"] == role_name and p.name.endswith(f"-{purpose}")
    ]
    return json.loads(policy.inputs["policy"])
