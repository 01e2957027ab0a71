"""The example stack file (examples/Pulumi.prod.yaml) as `pulumi up --stack prod` would run it."""

import json
from collections import Counter

from .aws_helpers import EXAMPLE, example_config, run_example
from .aws_mocks import ALB_DNS

# What the example creates (docs/aws.md, "What it creates"): keep the two in step.
EXPECTED = {
    # network: new VPC over 2 zones, one NAT gateway
    "aws:ec2/vpc:Vpc": 1,
    "aws:ec2/internetGateway:InternetGateway": 1,
    "aws:ec2/subnet:Subnet": 4,
    "aws:ec2/routeTable:RouteTable": 2,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": 4,
    "aws:ec2/eip:Eip": 1,
    "aws:ec2/natGateway:NatGateway": 1,
    "aws:ec2/vpcEndpoint:VpcEndpoint": 1,
    # security groups and their rules
    "aws:ec2/securityGroup:SecurityGroup": 3,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 4,  # ALB on 80 and 443, tasks, database
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 2,
    # image
    "aws:ecr/repository:Repository": 1,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": 1,
    "docker:index/image:Image": 1,
    # database
    "aws:docdb/subnetGroup:SubnetGroup": 1,
    "aws:docdb/clusterParameterGroup:ClusterParameterGroup": 1,
    "aws:docdb/cluster:Cluster": 1,
    "aws:docdb/clusterInstance:ClusterInstance": 2,
    "random:index/randomPassword:RandomPassword": 2,  # DocumentDB master and app passwords
    "random:index/randomId:RandomId": 1,  # final snapshot name
    # secrets
    "aws:secretsmanager/secret:Secret": 4,  # MONGO_URL, the admin URL for the database setup, 2 Node-RED secrets
    "aws:secretsmanager/secretVersion:SecretVersion": 4,
    # load balancer
    "aws:lb/loadBalancer:LoadBalancer": 1,
    "aws:lb/targetGroup:TargetGroup": 2,
    "aws:lb/listener:Listener": 2,  # HTTPS, and HTTP redirected to it
    "aws:lb/listenerRule:ListenerRule": 2,  # workers; instance paths (/metrics, /healthz, /livez) refused
    # ECS
    "aws:ecs/cluster:Cluster": 1,
    "aws:ecs/taskDefinition:TaskDefinition": 2,
    "aws:ecs/service:Service": 2,
    "aws:cloudwatch/logGroup:LogGroup": 2,
    "aws:iam/role:Role": 2,
    "aws:iam/rolePolicy:RolePolicy": 4,  # per role: its secrets; its image pull and log writes
    "aws:appautoscaling/target:Target": 1,
    "aws:appautoscaling/policy:Policy": 1,
}


def test_the_example_is_an_aws_stack_users_can_copy():
    text = EXAMPLE.read_text()
    assert "secure:" not in text and "encryptionsalt" not in text  # no secrets committed
    config = example_config()
    assert config["target"] == "aws"


def test_example_creates_the_documented_resources():
    program = run_example()
    counts = Counter(r.type for r in program.resources if not r.type.startswith(("nodered-scale:", "pulumi:")))
    assert dict(counts) == EXPECTED


def test_example_outputs_point_at_the_load_balancer():
    program = run_example()
    assert program.output("editorUrl") == "https://nodered.example.com/"
    assert program.output("apiBaseUrl") == "https://nodered.example.com/red-nodes"
    assert program.output("workerCount") == 2
    assert program.output("loadBalancerDnsName") == ALB_DNS


def test_every_resource_belongs_to_the_aws_stack_in_the_configured_region():
    program = run_example()
    [provider] = program.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == "eu-west-1"
    # Provider inputs arrive JSON-encoded.
    assert json.loads(provider.inputs["defaultTags"])["tags"]["project"] == "nodered-scale"
    # A URN names the direct parent's type: every resource hangs under a component (or a resource in
    # one), and every component under the AwsStack or another of ours, so `pulumi stack` shows one tree.
    for resource in program.resources:
        if resource.type in ("pulumi:pulumi:Stack", "nodered-scale:aws:AwsStack"):
            continue
        parent = resource.parent_types()[-1]
        assert parent != "pulumi:pulumi:Stack", resource.urn
        if resource.type.startswith("nodered-scale:"):
            assert parent.startswith("nodered-scale:"), resource.urn
        assert resource.name.startswith("nodered-"), resource.name
    [stack] = program.of_type("nodered-scale:aws:AwsStack")
    assert stack.parent_types() == ["pulumi:pulumi:Stack"]
