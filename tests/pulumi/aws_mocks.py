"""Canned AWS answers for the mock program runner: invokes (zones, region, ECR token, subnets) and the outputs
AWS would compute (names, endpoints, DNS names). Importing this module registers them."""

import hashlib

from . import mock_program

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ZONES = [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
ECR_PASSWORD = "ecr-token-not-a-real-one"
DOCDB_ENDPOINT = "nodered-docdb.cluster-abc.eu-west-1.docdb.amazonaws.com"
ALB_DNS = "nodered-lb-123.eu-west-1.elb.amazonaws.com"

# An existing VPC for the existing-VPC tests: subnet id -> (vpc id, zone).
VPC_ID = "vpc-0a1b2c3d4e5f60718"
SUBNETS = {
    "subnet-0000000000000aa01": (VPC_ID, ZONES[0]),
    "subnet-0000000000000aa02": (VPC_ID, ZONES[1]),
    "subnet-0000000000000bb01": (VPC_ID, ZONES[0]),
    "subnet-0000000000000bb02": (VPC_ID, ZONES[1]),
    "subnet-0000000000000cc01": (VPC_ID, ZONES[0]),  # same zone as aa01 and bb01
    "subnet-0000000000000dd01": ("vpc-0ffffffffffffffff", ZONES[1]),  # another VPC
}


def _subnet(args: dict) -> dict:
    vpc, zone = SUBNETS[args["id"]]
    return {
        "id": args["id"],
        "vpcId": vpc,
        "availabilityZone": zone,
        "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{args['id']}",
    }


mock_program.CALLS.update(
    {
        "aws:index/getAvailabilityZones:getAvailabilityZones": lambda args: {
            "id": REGION,
            "names": ZONES,
            "zoneIds": ZONES,
        },
        "aws:index/getRegion:getRegion": lambda args: {"id": REGION, "name": REGION, "region": REGION},
        "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda args: {
            "id": ACCOUNT,
            "userName": "AWS",
            "password": ECR_PASSWORD,
            "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
            "authorizationToken": "QVdTOmVjci10b2tlbg==",
            "expiresAt": "2030-01-01T00:00:00Z",
        },
        "aws:ec2/getSubnet:getSubnet": _subnet,
    }
)


def _named(name: str, inputs: dict) -> dict:
    # AWS (or Pulumi's auto-naming) gives each resource a physical name; mocks use the logical one.
    return {"name": inputs.get("name") or name}


for _type in (
    "aws:ecs/cluster:Cluster",
    "aws:ecs/service:Service",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:iam/role:Role",
    "aws:docdb/subnetGroup:SubnetGroup",
    "aws:docdb/clusterParameterGroup:ClusterParameterGroup",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:secretsmanager/secret:Secret",
):
    mock_program.COMPUTED.setdefault(_type, _named)

mock_program.COMPUTED.setdefault(
    "aws:ecr/repository:Repository",
    lambda name, inputs: {
        "name": name,
        "registryId": ACCOUNT,
        "repositoryUrl": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}",
    },
)
mock_program.COMPUTED.setdefault(
    "aws:docdb/cluster:Cluster",
    lambda name, inputs: {"endpoint": DOCDB_ENDPOINT, "port": 27017, "clusterIdentifier": name},
)
mock_program.COMPUTED.setdefault(
    "aws:lb/loadBalancer:LoadBalancer",
    lambda name, inputs: {"dnsName": ALB_DNS, "arnSuffix": f"app/{name}/50dc6c495c0c9188"},
)
mock_program.COMPUTED.setdefault(
    "aws:lb/targetGroup:TargetGroup", lambda name, inputs: {"arnSuffix": f"targetgroup/{name}/73e2d6bc24d8a067"}
)
# Secrets Manager gives each stored value a new version id.
mock_program.COMPUTED.setdefault(
    "aws:secretsmanager/secretVersion:SecretVersion",
    lambda name, inputs: {"versionId": hashlib.sha256(str(inputs.get("secretString")).encode()).hexdigest()[:32]},
)
mock_program.COMPUTED.setdefault(
    "random:index/randomPassword:RandomPassword", lambda name, inputs: {"result": f"generated-{name}-" + "x" * 16}
)
mock_program.COMPUTED.setdefault(
    "random:index/randomId:RandomId", lambda name, inputs: {"hex": "0a1b2c3d", "b64Url": "CmssPQ"}
)
