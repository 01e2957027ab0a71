"""The values tasks must not see in plain environment, held in Secrets Manager."""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class RuntimeSecretsArgs:
    # environment variable -> secret value (a Pulumi secret)
    values: Mapping[str, pulumi.Input[str]]
    # Days a deleted secret can still be restored (7 to 30).
    recovery_window_days: int = 7

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("values: nothing to store")
        if not 7 <= self.recovery_window_days <= 30:
            raise ValueError("recovery_window_days: Secrets Manager allows 7 to 30")


class RuntimeSecrets(pulumi.ComponentResource):
    # environment variable -> secret ARN (what a task's execution role is allowed to read)
    arns: dict[str, pulumi.Output[str]]
    # environment variable -> valueFrom for a container's `secrets`. It names the secret's version,
    # so a changed value changes the task definition and rolls the services onto it.
    value_from: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: RuntimeSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:aws:RuntimeSecrets", name, None, opts)
        self.arns, self.value_from = {}, {}
        for variable, value in args.values.items():
            slug = variable.lower().replace("_", "-")
            secret = aws.secretsmanager.Secret(
                f"{name}-{slug}",
                description=f"nodered-scale {variable}",
                recovery_window_in_days=args.recovery_window_days,
                opts=pulumi.ResourceOptions(parent=self),
            )
            version = aws.secretsmanager.SecretVersion(
                f"{name}-{slug}",
                secret_id=secret.id,
                secret_string=pulumi.Output.secret(value),
                opts=pulumi.ResourceOptions(parent=secret),
            )
            self.arns[variable] = secret.arn
            # <arn>:<json-key>:<version-stage>:<version-id>, the first two empty: the whole value, this version.
            self.value_from[variable] = pulumi.Output.concat(secret.arn, ":::", version.version_id)
        self.register_outputs({"arns": self.arns})
