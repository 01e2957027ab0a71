"""The URNs of every resource that holds state, pinned to the exact strings the deployed stacks have.

A resource's URN is its identity in the Pulumi state: stack, project, the chain of parent types, its
own type token and its name. Change any of these (rename a resource or a component, change a type
token, move a resource under another parent) and the next `pulumi up` no longer finds the resource it
made: it creates a new one and deletes the old one. For these resources that is data loss: a new
credential secret makes every stored flow credential undecryptable, new MongoDB passwords or key file
lock the replica set out of its own data volumes, a new volume or DocumentDB cluster starts empty, a new
ECR repository or Secrets Manager secret loses what was pushed or stored. Moving Python modules around
must never do that, so the expected URNs below are literal strings, written down once from the program
as it was, never computed from the code under test.

The URNs are the engine's (`Resource.engine_urn`, the whole parent chain), not the mock monitor's.

The docker target's secrets, and the aws target's credential key, moved from random resources into the stack
config (`pulumi destroy` forgets any resource, random values included, while the MongoDB volumes or the final
DocumentDB snapshot stay): their old URNs are kept below for `python -m stack_secrets`, which takes their values
from a stack's state into its config.
"""

import pytest

from stack_secrets import KEPT, KEPT_BY_TARGET

from .aws_helpers import run_example
from .mock_program import cached_program

STACK = "urn:pulumi:test::nodered-scale::"
STATEFUL_TYPES = {
    "random:index/randomPassword:RandomPassword",
    "random:index/randomId:RandomId",
    "docker:index/volume:Volume",
    "aws:docdb/cluster:Cluster",
    "aws:docdb/clusterInstance:ClusterInstance",
    "aws:ecr/repository:Repository",
    "aws:secretsmanager/secret:Secret",
}

# The docker target's secrets as random resources, before they moved to the stack config.
DOCKER_SECRETS_IN_STATE = [
    STACK
    + "nodered-scale:docker:DockerStack$nodered-scale:index:StackSecrets$random:index/randomPassword:RandomPassword::nodered-secrets-credential-secret",
    STACK
    + "nodered-scale:docker:DockerStack$nodered-scale:docker:MongoReplicaSet$random:index/randomPassword:RandomPassword::nodered-mongo-root-password",
    STACK
    + "nodered-scale:docker:DockerStack$nodered-scale:docker:MongoReplicaSet$random:index/randomPassword:RandomPassword::nodered-mongo-app-password",
    STACK
    + "nodered-scale:docker:DockerStack$nodered-scale:docker:MongoReplicaSet$random:index/randomPassword:RandomPassword::nodered-mongo-keyfile",
]
DOCKER_VOLUMES = [
    STACK
    + "nodered-scale:docker:DockerStack$nodered-scale:docker:MongoReplicaSet$docker:index/volume:Volume::nodered-mongo-data-0",
    STACK
    + "nodered-scale:docker:DockerStack$nodered-scale:docker:MongoReplicaSet$docker:index/volume:Volume::nodered-mongo-data-1",
    STACK
    + "nodered-scale:docker:DockerStack$nodered-scale:docker:MongoReplicaSet$docker:index/volume:Volume::nodered-mongo-data-2",
]
# The router's config: a new volume (same Docker name) would be created while the old one is in use.
DOCKER_ROUTER_CONFIG = [
    STACK
    + "nodered-scale:docker:DockerStack$nodered-scale:docker:Router$docker:index/volume:Volume::nodered-router-config",
]
# The aws target's credential key as a random resource, before it moved to the stack config.
AWS_SECRETS_IN_STATE = [
    STACK
    + "nodered-scale:aws:AwsStack$nodered-scale:index:StackSecrets$random:index/randomPassword:RandomPassword::nodered-secrets-credential-secret",
]
AWS_DOCUMENTDB = [
    STACK + "nodered-scale:aws:AwsStack$nodered-scale:aws:EcrImage$aws:ecr/repository:Repository::nodered-image-repo",
    STACK
    + "nodered-scale:aws:AwsStack$nodered-scale:aws:RuntimeSecrets$aws:secretsmanager/secret:Secret::nodered-runtime-mongo-url",
    STACK
    + "nodered-scale:aws:AwsStack$nodered-scale:aws:RuntimeSecrets$aws:secretsmanager/secret:Secret::nodered-runtime-node-red-credential-secret",
    STACK
    + "nodered-scale:aws:AwsStack$nodered-scale:aws:RuntimeSecrets$aws:secretsmanager/secret:Secret::nodered-runtime-node-red-editor-password",
    STACK
    + "nodered-scale:aws:AwsStack$nodered-scale:aws:RuntimeSecrets$aws:secretsmanager/secret:Secret::nodered-runtime-mongo-admin-url",
    STACK
    + "nodered-scale:aws:AwsStack$nodered-scale:aws:DocumentDb$random:index/randomPassword:RandomPassword::nodered-docdb-master-password",
    STACK
    + "nodered-scale:aws:AwsStack$nodered-scale:aws:DocumentDb$random:index/randomPassword:RandomPassword::nodered-docdb-app-password",
    STACK
    + "nodered-scale:aws:AwsStack$nodered-scale:aws:DocumentDb$random:index/randomId:RandomId::nodered-docdb-final-snapshot",
    STACK + "nodered-scale:aws:AwsStack$nodered-scale:aws:DocumentDb$aws:docdb/cluster:Cluster::nodered-docdb-cluster",
    STACK
    + "nodered-scale:aws:AwsStack$nodered-scale:aws:DocumentDb$aws:docdb/cluster:Cluster$aws:docdb/clusterInstance:ClusterInstance::nodered-docdb-0",
    STACK
    + "nodered-scale:aws:AwsStack$nodered-scale:aws:DocumentDb$aws:docdb/cluster:Cluster$aws:docdb/clusterInstance:ClusterInstance::nodered-docdb-1",
]

# The aws network as registered under its old type token, nodered-scale:aws:Network: a replaced VPC takes
# the database, the load balancer and the tasks with it. The component's type is now
# nodered-scale:aws:AwsNetwork (as its class), with an alias to the old one.
_OLD_NETWORK = STACK + "nodered-scale:aws:AwsStack$nodered-scale:aws:Network"
AWS_NETWORK = [
    _OLD_NETWORK + "::nodered-network",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc::nodered-network-vpc",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/eip:Eip::nodered-network-nat-0",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/internetGateway:InternetGateway::nodered-network-igw",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/subnet:Subnet::nodered-network-public-0",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/subnet:Subnet::nodered-network-private-0",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/subnet:Subnet::nodered-network-public-1",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/subnet:Subnet::nodered-network-private-1",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/natGateway:NatGateway::nodered-network-nat-0",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/routeTable:RouteTable::nodered-network-public",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/routeTable:RouteTable::nodered-network-private-0",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/routeTableAssociation:RouteTableAssociation::nodered-network-public-0",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/routeTableAssociation:RouteTableAssociation::nodered-network-public-1",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/routeTableAssociation:RouteTableAssociation::nodered-network-private-0",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/routeTableAssociation:RouteTableAssociation::nodered-network-private-1",
    _OLD_NETWORK + "$aws:ec2/vpc:Vpc$aws:ec2/vpcEndpoint:VpcEndpoint::nodered-network-s3",
]


def stateful_urns(program) -> set[str]:
    return {r.engine_urn for r in program.resources if r.type in STATEFUL_TYPES}


@pytest.mark.parametrize("members", [1, 3])
def test_docker_target_keeps_the_urns_of_its_mongodb_volumes_and_router_config(base_config, members):
    program = cached_program({**base_config, "mongo": {"members": members}})
    assert stateful_urns(program) == set(DOCKER_VOLUMES[:members] + DOCKER_ROUTER_CONFIG)


def test_stack_secrets_takes_the_values_of_the_random_resources_docker_stacks_have_in_their_state():
    """A stack deployed before the secrets moved to its config keeps its values: `make up` copies them from
    the state (by these names) before the program stops declaring the random resources."""
    assert {kept.state_name for kept in KEPT} == {urn.rsplit("::", 1)[1] for urn in DOCKER_SECRETS_IN_STATE}
    assert {kept.state_name for kept in KEPT_BY_TARGET["aws"]} == {
        urn.rsplit("::", 1)[1] for urn in AWS_SECRETS_IN_STATE
    }


def test_aws_target_keeps_the_urns_of_its_database_registry_and_secrets():
    program = run_example(mongo={"mode": "documentdb", "instances": 2})
    assert stateful_urns(program) == set(AWS_DOCUMENTDB)


def test_the_data_volume_of_member_0_outlives_the_stack_and_the_copies_go_with_their_members(base_config):
    """retainOnDelete, as the engine receives it: a destroy or a replacement leaves member 0's data on the host.
    Guards: members 1 and 2 kept their volumes too, and a 3 -> 1 -> 3 scaling brought them back with their old
    replica set state and an oplog position the primary's oplog might no longer cover (stuck in RECOVERING);
    their volumes now go with them and a member added again copies the data afresh (docs/operations.md)."""
    program = cached_program({**base_config, "mongo": {"members": 3}})
    volumes = {r.engine_urn: r for r in program.resources if r.engine_urn in DOCKER_VOLUMES}
    assert [volumes[urn].retain_on_delete for urn in DOCKER_VOLUMES] == [True, False, False]


def test_the_aws_network_keeps_its_urns_through_an_alias_to_its_old_type():
    """The network component's type token now says what its class says (AwsNetwork); existing stacks hold
    the VPC and everything in it under the old token. The component is registered with an alias to the old
    type, which the engine carries to its children: every resource of the network is found under its old
    URN, and nothing is replaced."""
    program = run_example()
    [network] = [r for r in program.resources if r.type == "nodered-scale:aws:AwsNetwork"]
    assert network.aliases == [{"name": "", "type": "nodered-scale:aws:Network", "parentUrn": "", "noParent": False}]
    new_chain = STACK + "nodered-scale:aws:AwsStack$nodered-scale:aws:AwsNetwork"
    under = [r.engine_urn for r in program.resources if r.engine_urn.startswith((new_chain + "::", new_chain + "$"))]
    # The engine's URN of each before the change: the aliased type in the chain in place of the new one.
    assert sorted(urn.replace(new_chain, _OLD_NETWORK, 1) for urn in under) == sorted(AWS_NETWORK)
