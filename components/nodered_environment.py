"""The image's environment contract (nodered_contract) for both deploy targets: what every target gives
each role from the stack config and the stack's secrets. Each target adds only what is its own."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any, TypedDict, Unpack

import pulumi

import nodered_contract
from stack_config import StackConfig

from .secrets import StackSecrets, secret_object


class TargetEnvironment(TypedDict, total=False):
    """What a target may set itself: nodered_contract.environment's keyword arguments beyond the stack's."""

    database: str
    port: int
    instance_id: str | None
    keepalive_seconds: int | None
    tls_ca_file: str | None
    enable_change_streams: bool
    trusted_proxies: list[str] | None
    extra: Mapping[str, Any] | None


def flows_deployer() -> str:
    """The user name `pulumi up` deploys a stack's flows as (stack config flows.source)."""
    return f"pulumi:{pulumi.get_stack()}"


def flows_lock(config: StackConfig) -> dict[str, str]:
    """The editor's lock of flows that come from files (flows.source): the source, who deploys it, and the
    SHA-256 of the deploy token (never the token: the hash may be in the plain environment). {} when unset."""
    token = config.flows_deploy_token
    if config.flows.source is None or token is None:
        return {}
    return {
        "NODE_RED_FLOWS_SOURCE": config.flows.source,
        "NODE_RED_FLOWS_DEPLOYER": flows_deployer(),
        "NODE_RED_FLOWS_DEPLOY_TOKEN_HASH": hashlib.sha256(token.get_secret_value().encode()).hexdigest(),
    }


def plain_environment(
    config: StackConfig,
    role: str,
    *,
    rate_limit_at_instances: bool = False,
    editor_url: str | None = None,
    **target: Unpack[TargetEnvironment],
) -> dict[str, str]:
    """A role's plain environment: the stack's httpNodeRoot, body limit and editor logins (the editor only:
    editor_url is its public URL, single sign-on's redirect URL is below it), its
    context store and which tabs the editor runs, the lock of flows from files (the editor only), the flows' API
    settings (http.*; the rate limit only with rate_limit_at_instances, where no router applies it), the
    target's own settings (nodered_contract.environment's keyword arguments), and the flows' own plain variables
    (flows.env) on every role."""
    settings: TargetEnvironment = {
        **target,
        "extra": {
            **(target.get("extra") or {}),
            "NODE_RED_CONTEXT_DEFAULT": config.context.default,
            "NODE_RED_EDITOR_FLOWS": config.flows.editor,
            **flows_lock(config),
            **config.http.environment(rate_limit_at_instances=rate_limit_at_instances),
            **editor_access_environment(config, editor_url),
        },
    }
    image = nodered_contract.environment(
        role,
        http_node_root=config.http_node_root,
        editor_user=config.editor.user,
        body_limit_mb=config.body_limit_mb,
        **settings,
    )
    return {**image, **config.flows.env}


def editor_access_environment(config: StackConfig, editor_url: str | None) -> dict[str, str]:
    """The editor's plain login settings (docs/editor-access.md): its users and API tokens with their roles,
    single sign-on and the URL the provider redirects below, how long sessions and audit records last.
    Only the editor gets them (nodered_contract.environment leaves them out of a worker's)."""
    editor = config.editor
    env = {
        "NODE_RED_SESSION_HOURS": str(editor.session_hours),
        "NODE_RED_AUDIT_RETENTION_DAYS": str(editor.audit_retention_days),
    }
    if editor.users:
        env["NODE_RED_EDITOR_USERS"] = json.dumps([u.model_dump() for u in editor.users])
    if editor.api_tokens:
        env["NODE_RED_EDITOR_API_TOKENS"] = json.dumps([t.model_dump() for t in editor.api_tokens])
    if editor.oidc is not None:
        if editor_url is None:
            raise ValueError("editor.oidc needs the editor's public URL (editor_url) for its redirect URL")
        env["NODE_RED_EDITOR_OIDC"] = json.dumps(editor.oidc.image_json())
        env["NODE_RED_EDITOR_URL"] = editor_url
    return env


def flow_secret_values(config: StackConfig) -> dict[str, pulumi.Output[str]]:
    """The flows' secret variables (flowSecrets) as Pulumi secrets, by name: every role gets them all."""
    return {name: pulumi.Output.secret(value.get_secret_value()) for name, value in config.flow_secrets.items()}


def secret_values(
    config: StackConfig, secrets: StackSecrets, mongo_url: pulumi.Input[str]
) -> dict[str, pulumi.Input[str] | None]:
    """Every secret variable a role may get, by name, from the stack's secrets, the target's database and
    the flows' API users and clients (httpUsers, httpTokens: JSON objects, when set); None: a login or
    API setting the stack does not use."""
    return nodered_contract.secret_values(
        mongo_url=mongo_url,
        credential_secret=secrets.credential_secret,
        editor_password=secrets.editor_password,
        editor_passwords=secrets.editor_passwords,
        oidc_client_secret=secrets.oidc_client_secret,
        api_token_secrets=secrets.api_token_secrets,
        previous_credential_secret=secrets.previous_credential_secret,
        http_users=secret_object(config.http_users),
        http_tokens=secret_object(config.http_tokens),
    )
