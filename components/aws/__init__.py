"""The aws target: ECS Fargate editor and workers behind an ALB, DocumentDB or an external MongoDB."""

from .stack import AwsStack, AwsStackArgs

__all__ = ["AwsStack", "AwsStackArgs"]
