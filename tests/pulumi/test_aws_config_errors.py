"""aws target: bad config stops the program before anything is created, with a message naming the key."""

import pulumi
import pytest

from . import mock_program
from .aws_helpers import EXTERNAL_URI, USER_SECRETS, example_config, merged
from .mock_program import run_program

EXISTING = {
    "vpcId": "vpc-0a1b2c3d4e5f60718",
    "publicSubnetIds": ["subnet-0000000000000aa01", "subnet-0000000000000aa02"],
}

BAD = [
    (
        {"workers": {"autoscaling": {"min": 5, "max": 3}}},
        "workers.autoscaling",
        "min (5) must not be greater than max (3)",
    ),
    ({"workers": {"replicas": 12}}, "workers.replicas", "must lie between workers.autoscaling.min (2) and max (10)"),
    (
        {"workers": {"autoscaling": {"targetCpuPercent": 95}}},
        "workers.autoscaling.targetCpuPercent",
        "less than or equal to 90",
    ),
    ({"workers": {"cpu": 1024, "memory": 1024}}, "workers.memory", "does not fit cpu 1024 on Fargate"),
    ({"workers": {"cpu": 300}}, "workers.cpu", "is not a Fargate size"),
    ({"editor": {"cpu": 256, "memory": 4096}}, "editor.memory", "does not fit cpu 256"),
    ({"mongo": {"mode": "atlas"}}, "mongo.mode", "'documentdb' or 'external'"),
    ({"mongo": {"mode": "external"}}, "mongoUri", "required when mongo.mode is external"),
    ({"mongo": {"instanceClass": "t4g.medium"}}, "mongo.instanceClass", "not a DocumentDB instance class"),
    ({"mongo": {"instances": 0}}, "mongo.instances", "greater than or equal to 1"),
    ({"aws": {"availabilityZones": 1}}, "aws.availabilityZones", "at least two zones"),
    ({"aws": {"vpcCidr": "10.0.0.0/26"}}, "aws.vpcCidr", "between /16 and /22"),
    ({"aws": {"vpcCidr": "8.8.0.0/16"}}, "aws.vpcCidr", "must be a private range"),
    ({"aws": {"natGateway": "yes"}}, "aws.natGateway", "'single', 'perAz' or 'none'"),
    ({"aws": {"allowedCidrs": []}}, "aws.allowedCidrs", "at least one CIDR"),
    ({"aws": {"allowedCidrs": ["10.0.0.300/32"]}}, "aws.allowedCidrs", "is not an IPv4 network"),
    (
        {"aws": {"certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}},
        "aws.certificateArn",
        "must be an ACM certificate ARN",
    ),
    (
        {
            "aws": {
                "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                "domainName": "nodered.example.com",
            }
        },
        "aws.certificateArn",
        "ACM certificates are regional",
    ),
    (
        {
            "aws": {
                "certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                "domainName": None,
            }
        },
        "aws.domainName",
        "required with aws.certificateArn",
    ),
    ({"aws": {"domainName": "https://nodered.example.com"}}, "aws.domainName", "is not a host name"),
    ({"aws": {"logRetentionDays": 10}}, "aws.logRetentionDays", "one of CloudWatch's retention periods"),
    ({"aws": {"region": "Europe"}}, "aws.region", "pattern"),
    ({"aws": {"idleTimeoutSeconds": 10}}, "aws.idleTimeoutSeconds", "greater than or equal to 30"),
    (
        {"aws": {"documentdb": {"changeStreamRetentionHours": 200}}},
        "aws.documentdb.changeStreamRetentionHours",
        "less than or equal to 168",
    ),
    ({"aws": {"vpcID": "vpc-0a1b2c3d"}}, "aws.vpcID", "unknown key"),
    ({"aws": {"publicSubnetIds": ["subnet-0000000000000aa01"]}}, "aws.publicSubnetIds", "need aws.vpcId"),
    (
        {"aws": {**EXISTING, "privateSubnetIds": ["subnet-0000000000000bb01"]}},
        "aws.privateSubnetIds",
        "at least 2 subnets",
    ),
    ({"aws": EXISTING}, "aws.privateSubnetIds", "at least 2 subnets"),  # left out entirely
    (
        {
            "aws": {
                **EXISTING,
                "publicSubnetIds": ["subnet-0000000000000aa01"],
                "privateSubnetIds": ["subnet-0000000000000bb01", "subnet-0000000000000bb02"],
            }
        },
        "aws.publicSubnetIds",
        "at least 2 subnets",
    ),
    (
        {"aws": {**EXISTING, "privateSubnetIds": ["subnet-0000000000000aa01", "subnet-0000000000000bb02"]}},
        "aws.privateSubnetIds",
        "also listed in aws.publicSubnetIds",
    ),
    (
        {"aws": {**EXISTING, "privateSubnetIds": ["subnet-0000000000000bb01", "subnet-0000000000000bb01"]}},
        "aws.privateSubnetIds",
        "lists a subnet twice",
    ),
    ({"aws": {**EXISTING, "privateSubnetIds": ["sn-1", "sn-2"]}}, "aws.privateSubnetIds", "is not a subnet id"),
]


def _config(override: dict) -> dict:
    config = example_config()
    if "vpcId" in override.get("aws", {}) or "publicSubnetIds" in override.get("aws", {}):
        # An existing VPC: the example's new-VPC keys would be errors of their own.
        for key in ("vpcCidr", "availabilityZones", "natGateway"):
            config["aws"].pop(key)
    return merged(config, override)


@pytest.mark.parametrize("override,key,reason", BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_aws_config_names_the_key_and_creates_nothing(override, key, reason):
    with pytest.raises(pulumi.RunError) as raised:
        run_program(_config(override))
    message = str(raised.value)
    assert f"nodered-scale:{key}:" in message and reason in message, message
    assert set(t for t, _ in mock_program.last_registered) <= {"pulumi:pulumi:Stack"}


def test_new_vpc_keys_beside_an_existing_vpc_are_each_named():
    config = merged(
        example_config(),
        {"aws": {**EXISTING, "privateSubnetIds": ["subnet-0000000000000bb01", "subnet-0000000000000bb02"]}},
    )
    with pytest.raises(pulumi.RunError) as raised:
        run_program(config)
    for key in ("vpcCidr", "availabilityZones", "natGateway"):
        assert f"nodered-scale:aws.{key}: only for a new VPC" in str(raised.value)


def test_aws_defaults_are_valid_on_their_own_with_plain_http_asked_for():
    """A stack file with only `target: aws`, allowPlainHttp and the password deploys with the documented defaults."""
    program = run_program({"target": "aws", "aws": {"allowPlainHttp": True}, **USER_SECRETS})
    assert program.output("workerCount") == 2
    assert program.output("editorUrl").startswith("http://")


def test_external_mode_with_a_uri_is_accepted():
    program = run_program(merged(example_config(), {"mongo": {"mode": "external"}, "mongoUri": EXTERNAL_URI}))
    assert program.output("apiBaseUrl").endswith("/red-nodes")
