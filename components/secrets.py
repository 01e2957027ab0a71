"""The stack's secrets as Pulumi secrets: editor password, and the credential secret (from the stack config;
generated once when absent, on the aws target: the docker target keeps it in the stack config)."""

from dataclasses import dataclass

import pulumi
import pulumi_random as random

from stack_config import StackConfig


@dataclass
class StackSecretsArgs:
    config: StackConfig
    # Pulumi `protect` on a generated credential secret: no `up` may replace it and `destroy` stops at it
    # (the aws target lifts it with aws.documentdb.deletionProtection: false).
    protect: bool = False


class StackSecrets(pulumi.ComponentResource):
    editor_password: pulumi.Output[str]
    credential_secret: pulumi.Output[str]

    def __init__(self, name: str, args: StackSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:index:StackSecrets", name, None, opts)
        self.editor_password = pulumi.Output.secret(args.config.editor_password.get_secret_value())
        if args.config.credential_secret is not None:
            self.credential_secret = pulumi.Output.secret(args.config.credential_secret.get_secret_value())
        else:
            # Node-RED encrypts stored credentials with this key: it must never change for the life of
            # the stack's data, so it lives in the stack state (a random resource), not in each `up`, protected:
            # a replacement would make every stored credential undecryptable.
            generated = random.RandomPassword(
                f"{name}-credential-secret",
                length=48,
                special=False,
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
            )
            self.credential_secret = pulumi.Output.secret(generated.result)
        self.register_outputs({"credentialSecret": self.credential_secret})
