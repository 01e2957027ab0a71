"""aws target config (the `nodered-scale:aws` object).

Either an existing VPC (`vpcId` with public and private subnet ids) or a new one built from
`vpcCidr` over `availabilityZones` zones. Cross-field checks are field validators reading the
fields declared before them, so each error is reported under the key that is wrong.
"""

import re
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from .base import ConfigModel, ipv4_network

# Retention values CloudWatch Logs accepts (days).
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

_REGION = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$"
_VPC_ID = r"^vpc-[0-9a-f]{8,17}$"
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$")
# A DocumentDB cluster snapshot: its identifier (a letter, then letters, digits and single hyphens, at most 255)
# or its ARN (a snapshot shared from another account).
_SNAPSHOT = re.compile(
    r"^([A-Za-z](-?[A-Za-z0-9])*|arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster-snapshot:[A-Za-z](-?[A-Za-z0-9])*)$"
)
_DOMAIN = r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
# The listener rules that admit aws.editorAllowedCidrs take 5 addresses each (an ALB condition's limit).
MAX_EDITOR_CIDRS = 40
PLAIN_HTTP_REFUSED = (
    "is required: without a certificate the load balancer serves the editor over plain HTTP on port 80, and the "
    "editor's passwords and session tokens cross the network in clear text. Request one in ACM in the stack's "
    "region (aws acm request-certificate --domain-name nodered.example.com --validation-method DNS), create the "
    "DNS record ACM names to validate it, then set aws.certificateArn and aws.domainName (and point that name at "
    "the load balancer: output loadBalancerDnsName). Only on a network you trust: aws.allowPlainHttp: true"
)


class DocumentDbConfig(ConfigModel):
    """Amazon DocumentDB settings beyond mongo.instanceClass / mongo.instances."""

    engine_version: Literal["5.0.0"] = "5.0.0"
    # How long the change-stream log is kept: a worker that was away longer than this reads the
    # current revision instead of resuming (DocumentDB allows 1 hour to 7 days).
    change_stream_retention_hours: Annotated[int, Field(ge=1, le=168)] = 24
    backup_retention_days: Annotated[int, Field(ge=1, le=35)] = 7
    # On by default: `pulumi destroy` must not drop the flows by accident; set false to tear down.
    deletion_protection: bool = True
    # A final snapshot is taken on delete unless this is true.
    skip_final_snapshot: bool = False
    # Create the cluster from this snapshot (read when the cluster is created: after `pulumi destroy`, or for a
    # new stack; ignored afterwards). docs/operations.md, "Restore from a snapshot".
    snapshot_identifier: str | None = None
    # Changes to the instances (a new instance class) and the cluster take effect during this `pulumi up`, not in
    # the next maintenance window (an instance class change restarts that instance: a failover of a few seconds).
    apply_immediately: bool = True

    @field_validator("snapshot_identifier")
    @classmethod
    def _snapshot(cls, value: str | None) -> str | None:
        if value is not None and (len(value.rsplit(":", 1)[-1]) > 255 or not _SNAPSHOT.match(value)):
            raise ValueError(
                "must be a DocumentDB cluster snapshot identifier (a letter, then letters, digits and single "
                "hyphens) or a cluster snapshot ARN"
            )
        return value


class AwsConfig(ConfigModel):
    # Region of every resource; unset: the provider's own (`aws:region` or AWS_REGION).
    region: Annotated[str, Field(pattern=_REGION)] | None = None

    # Existing VPC: give its id and at least two public (load balancer) and two private
    # (tasks, database) subnets in different zones. Unset: a new VPC is created.
    vpc_id: Annotated[str, Field(pattern=_VPC_ID)] | None = None
    public_subnet_ids: list[str] = []
    private_subnet_ids: list[str] = []

    # New VPC only.
    vpc_cidr: str = "10.40.0.0/16"
    availability_zones: int = 2
    # NAT for the private subnets' egress (ECR pulls, Secrets Manager, logs, flows calling out):
    # "single" one gateway (cheapest; egress stops if its zone fails), "perAz" one per zone,
    # "none" no NAT: tasks run in the public subnets with public IPs (inbound still only from
    # the load balancer), the database stays private.
    nat_gateway: Literal["single", "perAz", "none"] = "single"

    # Who may reach the load balancer.
    allowed_cidrs: list[str] = ["0.0.0.0/0"]
    # Who may reach the editor and its admin paths (everything outside httpNodeRoot): a rule of the load
    # balancer's listener; unset: allowedCidrs. Flow endpoints follow allowedCidrs.
    editor_allowed_cidrs: list[str] | None = None
    # Plain HTTP only when asked for: without a certificate the editor's passwords and session tokens
    # would cross the network in clear text.
    allow_plain_http: bool = False
    # ACM certificate: HTTPS on 443 and HTTP redirected to it. Required unless allowPlainHttp.
    certificate_arn: str | None = None
    # Host name users reach the load balancer by (a DNS record you point at it); used in the
    # stack's URLs. Unset: the load balancer's own DNS name. Required with a certificate (the
    # certificate is for this name, never for the load balancer's).
    domain_name: str | None = None
    # Load balancer idle timeout: above the editor websocket's 15 s keep-alive, and above the
    # longest HTTP flow you run.
    idle_timeout_seconds: Annotated[int, Field(ge=30, le=4000)] = 120
    log_retention_days: int = 30
    documentdb: DocumentDbConfig = DocumentDbConfig()

    @model_validator(mode="before")
    @classmethod
    def _check_absent_keys_too(cls, data):
        # These keys are checked against others even when left out; given explicitly, an error about
        # them is reported under their stack-file name (a default would be reported by field name).
        if isinstance(data, dict):
            absent: dict[str, tuple[str, Any]] = {
                "publicSubnetIds": ("public_subnet_ids", []),
                "privateSubnetIds": ("private_subnet_ids", []),
                "domainName": ("domain_name", None),
            }
            data = dict(data)
            for alias, (name, default) in absent.items():
                if alias not in data and name not in data:
                    data[alias] = default
        return data

    @field_validator("public_subnet_ids", "private_subnet_ids")
    @classmethod
    def _subnets(cls, value: list[str], info: ValidationInfo) -> list[str]:
        for subnet in value:
            if not isinstance(subnet, str) or not _SUBNET_ID.match(subnet):
                raise ValueError(f"{subnet!r} is not a subnet id (subnet-0123abcd...)")
        if len(set(value)) != len(value):
            raise ValueError("lists a subnet twice")
        if info.data.get("vpc_id") is None:
            if value:
                raise ValueError("subnet ids need aws.vpcId (the VPC they belong to); leave both unset for a new VPC")
        elif len(value) < 2:
            role = "the load balancer" if info.field_name == "public_subnet_ids" else "the tasks and the database"
            raise ValueError(f"needs at least 2 subnets in different availability zones for {role}")
        return value

    @field_validator("private_subnet_ids")
    @classmethod
    def _distinct_tiers(cls, value: list[str], info: ValidationInfo) -> list[str]:
        shared = set(value) & set(info.data.get("public_subnet_ids") or [])
        if shared:
            raise ValueError(
                f"{sorted(shared)} also listed in aws.publicSubnetIds: the tasks and database belong in private subnets"
            )
        return value

    # Runs only when the key is given: new-VPC settings make no sense beside an existing VPC.
    @field_validator("vpc_cidr", "availability_zones", "nat_gateway")
    @classmethod
    def _new_vpc_only(cls, value, info: ValidationInfo):
        if info.data.get("vpc_id") is not None:
            raise ValueError("only for a new VPC; remove it or remove aws.vpcId")
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_cidr(cls, value: str) -> str:
        net = ipv4_network(value)
        if not net.is_private:
            raise ValueError("must be a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)")
        if not 16 <= net.prefixlen <= 22:
            raise ValueError("prefix must be between /16 and /22 (each zone gets two subnets of 1/16 of it)")
        return value

    @field_validator("availability_zones")
    @classmethod
    def _zones(cls, value: int) -> int:
        if not 2 <= value <= 6:
            raise ValueError("must be between 2 and 6: the load balancer and DocumentDB need at least two zones")
        return value

    @field_validator("allowed_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must list at least one CIDR (0.0.0.0/0 for everyone)")
        for cidr in value:
            ipv4_network(cidr)
        return value

    @field_validator("editor_allowed_cidrs")
    @classmethod
    def _editor_cidrs(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is None:
            return value
        if not value:
            raise ValueError("must list at least one CIDR (leave it out for aws.allowedCidrs)")
        if len(value) > MAX_EDITOR_CIDRS:
            raise ValueError(f"lists {len(value)} CIDRs; the load balancer's rules take at most {MAX_EDITOR_CIDRS}")
        allowed = [ipv4_network(c) for c in info.data.get("allowed_cidrs") or []]
        for cidr in value:
            network = ipv4_network(cidr)
            if allowed and not any(network.subnet_of(a) for a in allowed):
                raise ValueError(
                    f"{cidr} is outside aws.allowedCidrs: the load balancer's security group never lets it in "
                    "(add it to allowedCidrs too)"
                )
        return value

    @field_validator("certificate_arn")
    @classmethod
    def _certificate(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value  # required unless allowPlainHttp: StackConfig checks it on the aws target
        if info.data.get("allow_plain_http"):
            raise ValueError(
                "aws.allowPlainHttp is true too: with a certificate the editor is served over HTTPS only (HTTP "
                "redirects to it); remove aws.allowPlainHttp"
            )
        match = _CERTIFICATE_ARN.match(value)
        if not match:
            raise ValueError("must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)")
        region = info.data.get("region")
        if region and match.group(1) != region:
            raise ValueError(
                f"is in region {match.group(1)}, but the stack deploys to aws.region {region}: ACM certificates are regional"
            )
        return value

    @field_validator("domain_name")
    @classmethod
    def _domain(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            if info.data.get("certificate_arn"):
                raise ValueError(
                    "required with aws.certificateArn: the host name the certificate is for (point its DNS record at the load balancer)"
                )
            return value
        if len(value) > 253 or not re.fullmatch(_DOMAIN, value):
            raise ValueError(f"{value!r} is not a host name (e.g. nodered.example.com)")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"must be one of CloudWatch's retention periods: {', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
        return value

    @property
    def new_vpc(self) -> bool:
        return self.vpc_id is None

    @property
    def tasks_in_public_subnets(self) -> bool:
        """No NAT in a new VPC: tasks need public IPs to reach ECR, Secrets Manager and the logs."""
        return self.new_vpc and self.nat_gateway == "none"

    @property
    def https(self) -> bool:
        return self.certificate_arn is not None


# Fargate's CPU units and the memory (MiB) each allows: (min, max, step).
_FARGATE_MEMORY = {
    256: (512, 2048, None),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}


def fargate_size_problem(cpu: int, memory: int) -> tuple[str, str] | None:
    """(key, why) when (cpu, memory) is not a Fargate task size -- key is "cpu" or "memory" -- else None."""
    if cpu not in _FARGATE_MEMORY:
        return "cpu", f"{cpu} is not a Fargate size (one of {', '.join(map(str, _FARGATE_MEMORY))})"
    low, high, step = _FARGATE_MEMORY[cpu]
    allowed = memory in (512, 1024, 2048) if step is None else (low <= memory <= high and memory % step == 0)
    if allowed:
        return None
    options = "512, 1024 or 2048" if step is None else f"{low} to {high} in steps of {step}"
    return "memory", f"{memory} does not fit cpu {cpu} on Fargate (allowed: {options})"
