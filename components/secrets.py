"""The stack's secrets as Pulumi secrets: editor password, and the credential secret (generated once when absent)."""

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from stack_config import StackConfig


@dataclass
class StackSecretsArgs:
    config: StackConfig


class StackSecrets(pulumi.ComponentResource):
    editor_password: pulumi.Output[str]
    credential_secret: pulumi.Output[str]

    def __init__(self, name: str, args: StackSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:index:StackSecrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.editor_password = pulumi.Output.secret(args.config.editor_password.get_secret_value())
        if args.config.credential_secret is not None:
            self.credential_secret = pulumi.Output.secret(args.config.credential_secret.get_secret_value())
        else:
            # Node-RED encrypts stored credentials with this key: it must never change for the life of
            # the stack, so it lives in the stack state (a random resource), not in each `up`.
            generated = random.RandomPassword(f"{name}-credential-secret", length=48, special=False, opts=child)
            self.credential_secret = pulumi.Output.secret(generated.result)
        self.register_outputs({"credentialSecret": self.credential_secret})
