"""The image's environment contract (nodered_contract) for both deploy targets: what every target gives
each role from the stack config and the stack's secrets. Each target adds only what is its own."""

import hashlib
import json
from collections.abc import Mapping
from typing import Any, TypedDict, Unpack

import pulumi

import nodered_contract
from stack_config import StackConfig

from .secrets import StackSecrets


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
    config: StackConfig, role: str, *, rate_limit_at_instances: bool = False, **target: Unpack[TargetEnvironment]
) -> dict[str, str]:
    """A role's plain environment: the stack's httpNodeRoot, body limit and editor login (the editor only), its
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


def flow_secret_values(config: StackConfig) -> dict[str, pulumi.Output[str]]:
    """The flows' secret variables (flowSecrets) as Pulumi secrets, by name: every role gets them all."""
    return {name: pulumi.Output.secret(value.get_secret_value()) for name, value in config.flow_secrets.items()}


def secret_values(
    config: StackConfig, secrets: StackSecrets, mongo_url: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    """Every secret variable a role may get, by name, from the stack's secrets, the target's database and
    the flows' API users and clients (httpUsers, httpTokens: JSON objects, when set)."""

    def as_json(values) -> pulumi.Output[str] | None:
        if not values:
            return None
        return pulumi.Output.secret(json.dumps({k: v.get_secret_value() for k, v in values.items()}, sort_keys=True))

    return nodered_contract.secret_values(
        mongo_url=mongo_url,
        credential_secret=secrets.credential_secret,
        editor_password=secrets.editor_password,
        previous_credential_secret=secrets.previous_credential_secret,
        http_users=as_json(config.http_users),
        http_tokens=as_json(config.http_tokens),
    )
