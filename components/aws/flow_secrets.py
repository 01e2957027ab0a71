"""The flows' own secret variables (stack config flowSecrets) in Secrets Manager: one secret holding them
all as a JSON object; each container gets each variable by its key, never as plain environment."""

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class FlowSecretsArgs:
    # variable -> value (Pulumi secrets)
    values: Mapping[str, pulumi.Input[str]]
    # Days a deleted secret can still be restored (7 to 30).
    recovery_window_days: int = 7

    def __post_init__(self) -> None:
        if not self.values:
            raise ValueError("values: no flow secrets to store")
        if not 7 <= self.recovery_window_days <= 30:
            raise ValueError("recovery_window_days: Secrets Manager allows 7 to 30")


class FlowSecrets(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    # variable -> valueFrom for a container's `secrets`: <arn>:<json key>::<version id>. It names the
    # version, so a changed value changes the task definitions and rolls the services onto it.
    value_from: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: FlowSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:aws:FlowSecrets", name, None, opts)
        secret = aws.secretsmanager.Secret(
            f"{name}-secret",
            description="nodered-scale flow secrets (stack config flowSecrets)",
            recovery_window_in_days=args.recovery_window_days,
            opts=pulumi.ResourceOptions(parent=self),
        )
        names = sorted(args.values)
        document: pulumi.Output[str] = pulumi.Output.all(*[args.values[n] for n in names]).apply(
            lambda values: json.dumps(dict(zip(names, values, strict=True)), sort_keys=True)
        )
        # Annotated: with no expected type mypy cannot solve Output.secret's Input[U] for an Output.
        stored: pulumi.Output[str] = pulumi.Output.secret(document)
        version = aws.secretsmanager.SecretVersion(
            f"{name}-version",
            secret_id=secret.id,
            secret_string=stored,
            opts=pulumi.ResourceOptions(parent=secret),
        )
        self.arn = secret.arn
        self.value_from = {n: pulumi.Output.concat(secret.arn, ":", n, "::", version.version_id) for n in names}
        self.register_outputs({"arn": self.arn})
