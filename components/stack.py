"""What every target's stack component (docker.DockerStack, aws.AwsStack) offers the program to export."""

from typing import Protocol

import pulumi


class NodeRedStack(Protocol):
    editor_url: pulumi.Output[str]
    api_base_url: pulumi.Output[str]
    worker_count: pulumi.Output[int]
    # Done once the editor serves through editorUrl and the workers run: what a deploy of the flows
    # through the editor (components/flows_deployment.py) waits for.
    editor_ready: list[pulumi.Resource]
