"""aws target: a new VPC (zones, public and private subnets, NAT choice) or an existing one."""

import pytest

from .aws_helpers import (
    DOCDB_SUBNETS,
    LOAD_BALANCER,
    NAT,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SUBNET,
    example_config,
    merged,
    resource_id,
    run_example,
    service,
)
from .aws_mocks import VPC_ID, ZONES
from .mock_program import run_program

PUBLIC = ["subnet-0000000000000aa01", "subnet-0000000000000aa02"]
PRIVATE = ["subnet-0000000000000bb01", "subnet-0000000000000bb02"]


def _existing(**aws):
    config = example_config()
    for key in ("vpcCidr", "availabilityZones", "natGateway"):
        config["aws"].pop(key)
    return merged(config, {"aws": {"vpcId": VPC_ID, "publicSubnetIds": PUBLIC, "privateSubnetIds": PRIVATE, **aws}})


def _subnets(program, tier):
    return [s for s in program.of_type(SUBNET) if f"-{tier}-" in s.name]


def _task_network(program, role="worker"):
    return service(program, role).inputs["networkConfiguration"]


@pytest.mark.parametrize("zones", [2, 3])
def test_new_vpc_spans_the_zones_with_public_and_private_subnets(zones):
    program = run_example(aws={"availabilityZones": zones})
    public, private = _subnets(program, "public"), _subnets(program, "private")
    assert len(public) == len(private) == zones
    assert sorted(s.inputs["availabilityZone"] for s in public) == ZONES[:zones]
    assert sorted(s.inputs["availabilityZone"] for s in private) == ZONES[:zones]
    cidrs = [s.inputs["cidrBlock"] for s in public + private]
    assert len(set(cidrs)) == len(cidrs) and all(c.startswith("10.40.") for c in cidrs)
    assert sorted(program.one(LOAD_BALANCER).inputs["subnets"]) == sorted(resource_id(s) for s in public)
    assert sorted(_task_network(program)["subnets"]) == sorted(resource_id(s) for s in private)
    assert _task_network(program)["assignPublicIp"] is False


def _default_route(program, subnet):
    [association] = [a for a in program.of_type(ROUTE_TABLE_ASSOCIATION) if a.inputs["subnetId"] == resource_id(subnet)]
    [table] = [t for t in program.of_type(ROUTE_TABLE) if resource_id(t) == association.inputs["routeTableId"]]
    return {k: v for r in table.inputs.get("routes", []) if r["cidrBlock"] == "0.0.0.0/0" for k, v in r.items()}


@pytest.mark.parametrize("mode,nats", [("single", 1), ("perAz", 3)])
def test_private_subnets_reach_out_through_nat(mode, nats):
    program = run_example(aws={"availabilityZones": 3, "natGateway": mode})
    assert len(program.of_type(NAT)) == nats
    used = {_default_route(program, s)["natGatewayId"] for s in _subnets(program, "private")}
    assert len(used) == nats
    for subnet in _subnets(program, "public"):
        assert "gatewayId" in _default_route(program, subnet)


def test_without_nat_tasks_get_public_ips_in_public_subnets_and_the_database_stays_private():
    program = run_example(aws={"natGateway": "none"})
    assert program.of_type(NAT) == []
    public, private = _subnets(program, "public"), _subnets(program, "private")
    for role in ("editor", "worker"):
        assert sorted(_task_network(program, role)["subnets"]) == sorted(resource_id(s) for s in public)
        assert _task_network(program, role)["assignPublicIp"] is True
    assert sorted(program.one(DOCDB_SUBNETS).inputs["subnetIds"]) == sorted(resource_id(s) for s in private)
    for subnet in private:
        assert _default_route(program, subnet) == {}


def test_existing_vpc_creates_no_network_and_uses_the_given_subnets():
    program = run_program(_existing())
    assert not [
        r
        for r in program.resources
        if r.type.startswith("aws:ec2/") and r.type != "aws:ec2/securityGroup:SecurityGroup"
    ]
    assert program.one(LOAD_BALANCER).inputs["subnets"] == PUBLIC
    assert _task_network(program)["subnets"] == PRIVATE
    assert program.one(DOCDB_SUBNETS).inputs["subnetIds"] == PRIVATE
    assert {g.inputs["vpcId"] for g in program.of_type("aws:ec2/securityGroup:SecurityGroup")} == {VPC_ID}


def test_existing_subnet_outside_the_vpc_is_rejected_naming_the_key():
    with pytest.raises(
        ValueError,
        match=r"nodered-scale:aws\.privateSubnetIds: subnet-0000000000000dd01 is in vpc-0f+, not in aws\.vpcId",
    ):
        run_program(_existing(privateSubnetIds=["subnet-0000000000000bb01", "subnet-0000000000000dd01"]))


def test_existing_subnets_in_one_zone_are_rejected_naming_the_key():
    with pytest.raises(ValueError, match=r"nodered-scale:aws\.publicSubnetIds: .*at least 2 availability zones"):
        run_program(_existing(publicSubnetIds=["subnet-0000000000000aa01", "subnet-0000000000000cc01"]))


def test_more_zones_than_the_region_has_is_rejected_naming_the_key():
    with pytest.raises(ValueError, match=r"nodered-scale:aws\.availabilityZones: 4 zones asked, the region has 3"):
        run_example(aws={"availabilityZones": 4})
