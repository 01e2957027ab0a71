"""The stack's secrets as Pulumi secrets: the editor's logins (password, users' passwords, single sign-on
client secret, API tokens) and the credential key, all from the stack config (the key is generated once into it
by `make up`, python -m stack_secrets, on either target: a key kept in the stack state would be forgotten by
`pulumi destroy` while the database, its volumes or its final snapshot, keeps the credentials it encrypts), and
during a rotation the key before it."""

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pydantic import SecretStr

from stack_config import StackConfig


@dataclass
class StackSecretsArgs:
    config: StackConfig


def _secret(value: SecretStr | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.secret(value.get_secret_value())


def secret_object(values: Mapping[str, SecretStr]) -> pulumi.Output[str] | None:
    """name -> secret as one JSON object (NODE_RED_EDITOR_PASSWORDS, ..._API_TOKEN_SECRETS, NODE_RED_HTTP_USERS,
    ...), or None."""
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
    # The key before credential_secret while a rotation is under way (every role gets it), else None.
    previous_credential_secret: pulumi.Output[str] | None

    def __init__(self, name: str, args: StackSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("nodered-scale:index:StackSecrets", name, None, opts)
        config = args.config
        self.editor_password = _secret(config.editor_password)
        self.editor_passwords = secret_object(config.editor_passwords)
        self.oidc_client_secret = _secret(config.editor_oidc_client_secret)
        self.api_token_secrets = secret_object(config.editor_api_tokens)
        if config.credential_secret is None:  # the stack config requires it on every target
            raise ValueError("credentialSecret: required in the stack config")
        self.credential_secret = pulumi.Output.secret(config.credential_secret.get_secret_value())
        self.previous_credential_secret = _secret(config.previous_credential_secret)
        self.register_outputs({"credentialSecret": self.credential_secret})
