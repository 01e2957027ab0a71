"""Stack config for what flows see on every instance: the context stores, which tabs the editor runs,
the flows' own environment variables (plain ones in `flows.env`, secret ones in `flowSecrets`), and
where the stack's flows come from (`flows.source`, a directory of the project: docs/flows-as-code.md)."""

import re
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, SecretStr

from nodered_contract import validate_flow_env_name

from .base import ConfigModel


def _as_text(value: Any) -> Any:
    """YAML gives `RETRIES: 3` or `DEBUG: true` as a number or a boolean: flows read strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def _no_nul(value: str) -> str:
    if "\0" in value:
        raise ValueError("must not contain a NUL character")
    return value


# A name a flow environment variable may have (nodered_contract.validate_flow_env_name).
EnvName = Annotated[str, AfterValidator(validate_flow_env_name)]
EnvValue = Annotated[str, BeforeValidator(_as_text), AfterValidator(_no_nul), Field(max_length=32768)]


def _secret_value(value: SecretStr) -> SecretStr:
    if not value.get_secret_value():
        raise ValueError("must not be empty")
    _no_nul(value.get_secret_value())
    return value


class ContextConfig(ConfigModel):
    # Node-RED's default context store: `memory` keeps synchronous global.get() working in existing flows;
    # `shared` makes every context call without a store name cluster-wide (callbacks only).
    default: Literal["memory", "shared"] = "memory"


_SOURCE_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def _source_directory(value: str) -> str:
    """A directory inside the project, as a relative path with `/` between names: no `..`, no absolute path."""
    parts = value.split("/")
    if value.startswith("/") or not all(_SOURCE_PART.fullmatch(p) for p in parts) or ".." in parts:
        raise ValueError(
            "must be a directory inside the project, relative to it, e.g. flows/prod: names of letters, digits "
            "and '_ . -' between '/', no '..', not absolute"
        )
    return str(PurePosixPath(value))


class FlowsConfig(ConfigModel):
    # Which tabs the editor runs: `ordinary` (all but run-once tabs), `all` (also takes part in the
    # leader election), `none`.
    editor: Literal["ordinary", "all", "none"] = "ordinary"
    # Plain environment variables of the flows, on every instance (env.get("TZ"), ${API_URL}).
    env: dict[EnvName, EnvValue] = {}
    # The directory of the project the stack's flows come from (the layout `python -m nodered_status export`
    # writes): `pulumi up` deploys them, the editor refuses deploys by people. Unset: flows live in the editor.
    source: Annotated[str, AfterValidator(_source_directory)] | None = None


# `flowSecrets`: the flows' secret environment variables (pulumi config set --secret --path
# 'flowSecrets.API_KEY' ...): secret in the Pulumi state, in Secrets Manager on aws.
FlowSecretsConfig = dict[
    EnvName, Annotated[SecretStr, BeforeValidator(_as_text), Field(strict=False), AfterValidator(_secret_value)]
]
