"""The stack's secrets as Pulumi secrets: the editor password and the credential key, both from the stack config
(the key is generated once into it by `make up`, python -m stack_secrets, on either target: a key kept in the
stack state would be forgotten by `pulumi destroy` while the database, its volumes or its final snapshot, keeps
the credentials it encrypts), and during a rotation the key before it."""

from dataclasses import dataclass

import pulumi

from stack_config import StackConfig


@dataclass
class StackSecretsArgs:
    config: StackConfig


class StackSecrets(pulumi.ComponentResource):
    editor_password: pulumi.Output[str]
    credential_secret: pulumi.Output[str]
    # The key before credential_secret while a rotation is under way (every role gets it), else None.
    previous_credential_secret: pulumi.Output[str] | None

    def __init__(self, name: str, args: StackSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:index:StackSecrets", name, None, opts)
        config = args.config
        self.editor_password = pulumi.Output.secret(config.editor_password.get_secret_value())
        if config.credential_secret is None:  # the stack config requires it on every target
            raise ValueError("credentialSecret: required in the stack config")
        self.credential_secret = pulumi.Output.secret(config.credential_secret.get_secret_value())
        previous = config.previous_credential_secret
        self.previous_credential_secret = (
            pulumi.Output.secret(previous.get_secret_value()) if previous is not None else None
        )
        self.register_outputs({"credentialSecret": self.credential_secret})
