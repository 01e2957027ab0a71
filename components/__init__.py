"""Pulumi ComponentResources of nodered-scale: shared ones here, docker target's beside them, aws in aws/."""
