"""Parse `pulumi.Config` once into the typed StackConfig; bad config becomes a RunError naming the key."""

import json
from typing import Any

import pulumi
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from .model import StackConfig

NAMESPACE = "nodered-scale"
_OBJECT_KEYS = ("workers", "editor", "router", "mongo", "image", "network", "aws", "context", "flows", "flowSecrets")
_SCALAR_KEYS = ("target", "httpNodeRoot")
_INTEGER_KEYS = ("bodyLimitMb",)
_SECRET_KEYS = (
    "editorPassword",
    "credentialSecret",
    "mongoUri",
    "mongoRootPassword",
    "mongoAppPassword",
    "mongoKeyFile",
)


def _raw(config: pulumi.Config) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for key in _OBJECT_KEYS:
        try:
            value = config.get_object(key)
        except Exception:  # value is not JSON: report it like any other type error
            raise pulumi.RunError(
                f"{NAMESPACE}:{key}: must be an object, e.g. {key}: {{...}} in the stack file"
            ) from None
        if value is not None:
            raw[key] = value
    for key in _INTEGER_KEYS:
        text = config.get(key)
        if text is not None:
            try:
                raw[key] = json.loads(text)
            except ValueError:
                raw[key] = text  # not a number: the model reports it under the key
    for key in _SCALAR_KEYS + _SECRET_KEYS:
        value = config.get(key)
        if value is not None:
            raw[key] = value
    return raw


def _describe(error: ErrorDetails) -> str:
    # A dict key's own error (a flow variable's name) is the key's: "flows.env.NAME".
    path = ".".join(str(part) for part in error["loc"] if part != "[key]")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        hint = " (pulumi config set --secret editorPassword ...)" if path == "editorPassword" else ""
        return f"{NAMESPACE}:{path}: is required{hint}"
    if error["type"] == "extra_forbidden":
        return f"{NAMESPACE}:{path}: unknown key"
    # Echo the bad value, except for secrets and for model-wide errors (whose input is the whole config).
    if (
        path
        and "input" in error
        and not path.lower().endswith(("password", "secret", "uri", "keyfile"))
        and not path.startswith("flowSecrets")
    ):
        message = f"{message} (got {error['input']!r})"
    return f"{NAMESPACE}:{path}: {message}" if path else f"{NAMESPACE}:{message}"


def parse(raw: dict[str, Any]) -> StackConfig:
    """Validate a raw config mapping (camelCase keys); raises pulumi.RunError naming every bad key."""
    try:
        return StackConfig.model_validate(raw)
    except ValidationError as exc:
        raise pulumi.RunError("invalid stack config:\n  " + "\n  ".join(_describe(e) for e in exc.errors())) from None


def load_config(config: pulumi.Config | None = None) -> StackConfig:
    return parse(_raw(config or pulumi.Config(NAMESPACE)))
