"""The stack's secrets as Pulumi secrets: the editor's logins (password, users' passwords, single sign-on
client secret, API tokens), and the credential secret (from the stack config; generated once when absent,
on the aws target: the docker target keeps it in the stack config)."""

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pydantic import SecretStr

from stack_config import StackConfig


@dataclass
class StackSecretsArgs:
    config: StackConfig
    # Pulumi `protect` on a generated credential secret: no `up` may replace it and `destroy` stops at it
    # (the aws target lifts it with aws.documentdb.deletionProtection: false).
    protect: bool = False


def _secret(value: SecretStr | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.secret(value.get_secret_value())


def _secret_object(values: Mapping[str, SecretStr]) -> pulumi.Output[str] | None:
    """name -> secret as one JSON object (NODE_RED_EDITOR_PASSWORDS, ..._API_TOKEN_SECRETS), or None."""
    if not values:
        return None
    return pulumi.Output.secret(json.dumps({k: v.get_secret_value() for k, v in sorted(values.items())}))


class StackSecrets(pulumi.ComponentResource):
    # The editor's logins; None: a login the stack does not use.
    editor_password: pulumi.Output[str] | None
    editor_passwords: pulumi.Output[str] | None
    oidc_client_secret: pulumi.Output[str] | None
    api_token_secrets: pulumi.Output[str] | None
    credential_secret: pulumi.Output[str]

    def __init__(self, name: str, args: StackSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:index:StackSecrets", name, None, opts)
        config = args.config
        self.editor_password = _secret(config.editor_password)
        self.editor_passwords = _secret_object(config.editor_passwords)
        self.oidc_client_secret = _secret(config.editor_oidc_client_secret)
        self.api_token_secrets = _secret_object(config.editor_api_tokens)
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
