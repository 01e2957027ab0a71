"""What every target's stack component (docker.DockerStack, aws.AwsStack) offers the program to export."""

from typing import Protocol

import pulumi


class NodeRedStack(Protocol):
    editor_url: pulumi.Output[str]
    api_base_url: pulumi.Output[str]
    worker_count: pulumi.Output[int]
