"""nodered-scale: read the stack config, deploy the chosen target, export its URLs."""

import pulumi

from components.stack import NodeRedStack
from stack_config import load_config

config = load_config()

stack: NodeRedStack
if config.target == "docker":
    from components.docker import DockerStack, DockerStackArgs

    stack = DockerStack(
        "nodered", DockerStackArgs(config=config, prefix=f"{pulumi.get_project()}-{pulumi.get_stack()}")
    )
else:
    from components.aws import AwsStack, AwsStackArgs

    aws_stack = AwsStack("nodered", AwsStackArgs(config=config))
    # Point your DNS record (aws.domainName) at this name.
    pulumi.export("loadBalancerDnsName", aws_stack.load_balancer_dns_name)
    # The snapshot `pulumi destroy` will leave: what aws.documentdb.snapshotIdentifier names to restore from it.
    if aws_stack.final_snapshot_identifier is not None:
        pulumi.export("finalSnapshotIdentifier", aws_stack.final_snapshot_identifier)
    stack = aws_stack

pulumi.export("editorUrl", stack.editor_url)
pulumi.export("apiBaseUrl", stack.api_base_url)
pulumi.export("workerCount", stack.worker_count)

if config.flows.source is not None and config.flows_deploy_token is not None:
    # The flows come from files: deployed through the stack's editor once it serves (a deploy, no rollout).
    from components.flows_deployment import FlowsDeployment, FlowsDeploymentArgs
    from components.nodered_environment import flows_deployer

    flows = FlowsDeployment(
        "flows",
        FlowsDeploymentArgs(
            source=config.flows.source,
            editor_url=stack.editor_url,
            token=config.flows_deploy_token.get_secret_value(),
            deployer=flows_deployer(),
        ),
        opts=pulumi.ResourceOptions(depends_on=stack.editor_ready),
    )
    pulumi.export("flowsRevision", flows.flows_revision)
