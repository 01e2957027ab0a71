"""The VPC the stack runs in: an existing one (checked), or a new one with public and private subnets."""

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from stack_config.aws import AwsConfig

TYPE = "nodered-scale:aws:AwsNetwork"
OLD_TYPE = "nodered-scale:aws:Network"


@dataclass
class AwsNetworkArgs:
    config: AwsConfig
    region: pulumi.Input[str]


class AwsNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    # Load balancer.
    public_subnet_ids: pulumi.Output[list[str]]
    # Database; also the tasks unless `tasks_in_public_subnets`.
    private_subnet_ids: pulumi.Output[list[str]]
    task_subnet_ids: pulumi.Output[list[str]]
    # Tasks without NAT need a public IP to reach ECR, Secrets Manager and CloudWatch.
    assign_public_ip: bool

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        # Registered as nodered-scale:aws:Network before: the alias keeps the identity (URN) of the VPC and
        # everything in it in existing stacks, which a new type token would otherwise replace.
        aliased = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=OLD_TYPE)])
        super().__init__(TYPE, name, None, pulumi.ResourceOptions.merge(opts, aliased))
        config = args.config
        if config.vpc_id is None:  # config.new_vpc
            self._new_vpc(name, config, args.region)
        else:
            self._existing_vpc(config, config.vpc_id)
        self.assign_public_ip = config.tasks_in_public_subnets
        self.task_subnet_ids = self.public_subnet_ids if self.assign_public_ip else self.private_subnet_ids
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    def _existing_vpc(self, config: AwsConfig, vpc_id: str) -> None:
        """Look the subnets up: each must be in the VPC, and each tier span at least two zones."""
        invoke = pulumi.InvokeOutputOptions(parent=self)

        def tier(key: str, ids: list[str]) -> pulumi.Output[list[str]]:
            subnets = [aws.ec2.get_subnet_output(id=i, opts=invoke) for i in ids]

            def check(found: list) -> list[str]:
                for subnet_id, subnet in zip(ids, found, strict=False):
                    if subnet.vpc_id != vpc_id:
                        raise ValueError(
                            f"nodered-scale:aws.{key}: {subnet_id} is in {subnet.vpc_id}, not in aws.vpcId {vpc_id}"
                        )
                zones = {subnet.availability_zone for subnet in found}
                if len(zones) < 2:
                    raise ValueError(
                        f"nodered-scale:aws.{key}: the subnets are all in {sorted(zones)}; they must span at least 2 availability zones"
                    )
                return list(ids)

            return pulumi.Output.all(*subnets).apply(check)

        self.vpc_id = pulumi.Output.from_input(vpc_id)
        self.public_subnet_ids = tier("publicSubnetIds", config.public_subnet_ids)
        self.private_subnet_ids = tier("privateSubnetIds", config.private_subnet_ids)

    def _new_vpc(self, name: str, config: AwsConfig, region: pulumi.Input[str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        count = config.availability_zones
        # Regular zones only: Local Zones and Wavelength Zones are opt-in, and lack DocumentDB and NAT.
        zones = aws.get_availability_zones_output(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).names.apply(lambda names: _first_zones(names, count))
        # Sixteen equal blocks: public subnets take blocks 0..n-1, private ones 8..8+n-1.
        blocks = list(ipaddress.IPv4Network(config.vpc_cidr).subnets(prefixlen_diff=4))

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=config.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        vpc_child = pulumi.ResourceOptions(parent=vpc)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=vpc_child)
        public_table = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={"Name": f"{name}-public"},
            opts=vpc_child,
        )
        public: list[aws.ec2.Subnet] = []
        private: list[aws.ec2.Subnet] = []
        for i in range(count):
            zone = _nth(zones, i)
            for tier, index, subnets in (("public", i, public), ("private", 8 + i, private)):
                subnets.append(
                    aws.ec2.Subnet(
                        f"{name}-{tier}-{i}",
                        vpc_id=vpc.id,
                        cidr_block=str(blocks[index]),
                        availability_zone=zone,
                        map_public_ip_on_launch=False,
                        tags={"Name": f"{name}-{tier}-{i}", "tier": tier},
                        opts=vpc_child,
                    )
                )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}", subnet_id=public[i].id, route_table_id=public_table.id, opts=vpc_child
            )

        # NAT gateways in the public subnets: one, or one per zone so a zone's loss does not cut the others' egress.
        nats = []
        nat_count = {"none": 0, "single": 1, "perAz": count}[config.nat_gateway]
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags={"Name": f"{name}-nat-{i}"}, opts=vpc_child)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=public[i].id,
                    tags={"Name": f"{name}-nat-{i}"},
                    opts=pulumi.ResourceOptions(parent=vpc, depends_on=[igw]),
                )
            )
        # Private route tables: one per zone with per-zone NAT, else one shared (no default route without NAT:
        # the database needs none, and tasks then run in the public subnets).
        tables = []
        for i in range(count if config.nat_gateway == "perAz" else 1):
            routes = [aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nats[i].id)] if nats else []
            tables.append(
                aws.ec2.RouteTable(
                    f"{name}-private-{i}",
                    vpc_id=vpc.id,
                    routes=routes,
                    tags={"Name": f"{name}-private-{i}"},
                    opts=vpc_child,
                )
            )
        for i, subnet in enumerate(private):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}", subnet_id=subnet.id, route_table_id=tables[i % len(tables)].id, opts=vpc_child
            )
        # ECR image layers come from S3: a gateway endpoint (free) keeps them off the NAT's per-GB charge.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=pulumi.Output.concat("com.amazonaws.", region, ".s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in tables] + [public_table.id],
            tags={"Name": f"{name}-s3"},
            opts=vpc_child,
        )
        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])


def _nth(items: pulumi.Output[list[str]], index: int) -> pulumi.Output[str]:
    return items.apply(lambda values: values[index])


def _first_zones(names: list[str], count: int) -> list[str]:
    if len(names) < count:
        raise ValueError(
            f"nodered-scale:aws.availabilityZones: {count} zones asked, the region has {len(names)} available ({', '.join(names)})"
        )
    return list(names)[:count]
